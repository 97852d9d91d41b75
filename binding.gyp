{
  "targets": [
    {
      "target_name": "sipmedia_relay",
      "sources": ["src/native/relay.c", "src/native/addon.c", "src/native/g722.c", "src/native/netlink.c", "src/native/srtp.c", "src/native/dtls.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-std=gnu11"],
      "libraries": ["-lpthread"]
    }
  ]
}
