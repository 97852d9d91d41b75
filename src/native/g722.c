/*
 * G.722's lower sub-band in C, for the native worker: the same algorithm as src/media/g722.ts (which explains
 * it), kept bit for bit equal to it (test/dataplane/native-relay compares the two on the same input).
 */
#include "g722.h"

#include <string.h>

static const int Q6[30] = {0,    35,   72,   110,  150,  190,  233,  276,  323,  370,  422,  473,  530,  587,  650,
                           714,  786,  858,  940,  1023, 1121, 1219, 1339, 1458, 1612, 1765, 1980, 2195, 2557, 2919};
static const int LEVELS6[31] = {0,    136,  432,  728,   1040,  1360,  1688,  2032,  2400,  2776, 3168,
                                3576, 4008, 4464, 4944,  5456,  6000,  6576,  7192,  7856,  8576, 9360,
                                10232, 11192, 12280, 13512, 14984, 16704, 19008, 21904, 24808};
static const int QM4[16] = {0,     -20456, -12896, -8968, -6288, -4240, -2584, -1200,
                            20456, 12896,  8968,   6288,  4240,  2584,  1200,  0};
static const int RL42[16] = {0, 7, 6, 5, 4, 3, 2, 1, 7, 6, 5, 4, 3, 2, 1, 0};
static const int WL[8] = {-60, -30, 58, 172, 334, 538, 1198, 3042};
static const int QM2[4] = {-7408, -1616, 7408, 1616};
static const int RH2[4] = {2, 1, 2, 1};
static const int WH[3] = {0, -214, 798};

static int ILN[32], ILP[32], QM6[64], ILB[32];

void g722_tables_init(void) {
  static int done = 0;
  if (done) return;
  ILN[0] = ILN[31] = ILP[0] = ILP[31] = 0;
  ILN[1] = 63;
  ILN[2] = 62;
  for (int k = 0; k < 28; k++) ILN[3 + k] = 31 - k;
  for (int k = 0; k < 30; k++) ILP[1 + k] = 61 - k;
  for (int i = 0; i < 64; i++) QM6[i] = -136;
  for (int i = 1; i <= 30; i++) {
    QM6[ILN[i]] = -LEVELS6[i];
    QM6[ILP[i]] = LEVELS6[i];
  }
  /* 2048 x 2^(i/32), rounded: the same numbers as the TypeScript table. */
  static const int ilb[32] = {2048, 2093, 2139, 2186, 2233, 2282, 2332, 2383, 2435, 2489, 2543,
                              2599, 2656, 2714, 2774, 2834, 2896, 2960, 3025, 3091, 3158, 3228,
                              3298, 3371, 3444, 3520, 3597, 3676, 3756, 3838, 3922, 4008};
  memcpy(ILB, ilb, sizeof ILB);
  done = 1;
}

static int sat(int v) { return v > 32767 ? 32767 : v < -32768 ? -32768 : v; }

void g722_band_init(g722_band_t *b, int det) {
  memset(b, 0, sizeof *b);
  b->det = det;
}

static void adapt(g722_band_t *b, int step, int max, int shift) {
  int nb = ((b->nb * 127) >> 7) + step;
  b->nb = nb < 0 ? 0 : nb > max ? max : nb;
  int base = ILB[(b->nb >> 6) & 31];
  int e = shift - (b->nb >> 11);
  b->det = (e < 0 ? base << -e : base >> e) << 2;
}

static void update(g722_band_t *b, int dq) {
  b->d[0] = dq;
  b->r[0] = sat(b->s + dq);
  b->p[0] = sat(b->sz + dq);
  int sg0 = b->p[0] >> 15, sg1 = b->p[1] >> 15, sg2 = b->p[2] >> 15;
  int w1 = sat(b->a[1] * 4);
  int w2 = sg0 == sg1 ? -w1 : w1;
  if (w2 > 32767) w2 = 32767;
  int a2 = (sg0 == sg2 ? 128 : -128) + (w2 >> 7) + ((b->a[2] * 32512) >> 15);
  a2 = a2 > 12288 ? 12288 : a2 < -12288 ? -12288 : a2;
  int a1 = sat((sg0 == sg1 ? 192 : -192) + ((b->a[1] * 32640) >> 15));
  int lim = sat(15360 - a2);
  if (a1 > lim) a1 = lim;
  else if (a1 < -lim) a1 = -lim;
  int step = dq == 0 ? 0 : 128, sgd = dq >> 15;
  for (int i = 6; i >= 1; i--) b->b[i] = sat(((b->d[i] >> 15) == sgd ? step : -step) + ((b->b[i] * 32640) >> 15));
  for (int i = 6; i >= 1; i--) b->d[i] = b->d[i - 1];
  b->r[2] = b->r[1];
  b->r[1] = b->r[0];
  b->p[2] = b->p[1];
  b->p[1] = b->p[0];
  b->a[1] = a1;
  b->a[2] = a2;
  b->sp = sat(((b->a[1] * sat(b->r[1] + b->r[1])) >> 15) + ((b->a[2] * sat(b->r[2] + b->r[2])) >> 15));
  int sz = 0;
  for (int i = 6; i >= 1; i--) sz += (b->b[i] * sat(b->d[i] + b->d[i])) >> 15;
  b->sz = sat(sz);
  b->s = sat(b->sp + b->sz);
}

static void update_low(g722_band_t *low, int code6) {
  int c4 = code6 >> 2;
  int dq = (low->det * QM4[c4]) >> 15;
  adapt(low, WL[RL42[c4]], 18432, 8);
  update(low, dq);
}

int g722_decode_low(g722_band_t *low, uint8_t byte) {
  int code = byte & 0x3f;
  int rl = low->s + ((low->det * QM6[code]) >> 15);
  rl = rl > 16383 ? 16383 : rl < -16384 ? -16384 : rl;
  update_low(low, code);
  return sat(rl * 2);
}

uint8_t g722_encode(g722_band_t *low, g722_band_t *high, int sample) {
  int el = sat((sample >> 1) - low->s);
  int mag = el >= 0 ? el : -(el + 1);
  int k = 1;
  while (k < 30 && mag >= ((Q6[k] * low->det) >> 12)) k++;
  int code_low = el < 0 ? ILN[k] : ILP[k];
  update_low(low, code_low);
  int eh = sat(-high->s);
  int big = (eh >= 0 ? eh : -(eh + 1)) >= ((564 * high->det) >> 12);
  int code_high = eh < 0 ? (big ? 0 : 1) : big ? 2 : 3;
  int dh = (high->det * QM2[code_high]) >> 15;
  adapt(high, WH[RH2[code_high]], 22528, 10);
  update(high, dh);
  return (uint8_t)((code_high << 6) | code_low);
}
