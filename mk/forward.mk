# forward kernel: the kernel-oracle integration test drives `ip` (netns, veth, route).
SYSDEPS += iproute2
