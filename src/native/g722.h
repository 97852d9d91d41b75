/* G.722 lower sub-band ADPCM (see g722.c and src/media/g722.ts). */
#ifndef SIPMEDIA_G722_H
#define SIPMEDIA_G722_H
#include <stdint.h>

/* One sub-band's ADPCM state: predictor output and parts, log scale factor and step, histories. */
typedef struct {
  int s, sp, sz, nb, det;
  int r[3], p[3], a[3];
  int d[7], b[7];
} g722_band_t;

void g722_tables_init(void);
void g722_band_init(g722_band_t *b, int det);
/* One G.722 byte to one 8 kHz linear sample (the lower band; the higher band is dropped). */
int g722_decode_low(g722_band_t *low, uint8_t byte);
/* One 8 kHz linear sample to one G.722 byte (the higher band codes silence). */
uint8_t g722_encode(g722_band_t *low, g722_band_t *high, int sample);

#endif
