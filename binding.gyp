{
  "targets": [
    {
      "target_name": "tuntap",
      "sources": ["native/tuntap.c", "native/tun_open.c", "native/syserr.c", "native/vnet.c", "native/gso.c"],
      "defines": ["NAPI_VERSION=8"],
      "cflags_c": ["-std=gnu11", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "conditions": [
        ["OS!='linux'", { "type": "none" }]
      ]
    }
  ]
}
