# Configures the network the Linux way and prints what the tools see: Debian's iproute2
# (/usr/sbin/ip, copied from the host with its libraries), busybox's ip, ifconfig and route,
# /proc/net, then the ioctl and rtnetlink errno probe (tests/ref/netconf.c). The harness
# attaches a virtio NIC on slirp (same MAC under both kernels); Linux needs its virtio-net
# modules, which the harness puts in /lib/ref-modules (insmod fails on our kernel: the NIC is
# there already). Linux's Debian kernel has no ip= autoconfiguration, so eth0 is configured
# by the commands here, under both kernels.
for m in virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci failover net_failover virtio_net; do
    [ -e /lib/ref-modules/$m.ko ] && insmod /lib/ref-modules/$m.ko 2>/dev/null
done
i=0
while ! busybox ip link show eth0 >/dev/null 2>&1 && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
# Linux gives eth0 an IPv6 link-local address (and a SLAAC one from slirp's router
# advertisements, with lifetimes that count down) when it comes up; this kernel keeps no IPv6
# addresses on eth0 yet, so IPv6 is switched off on Linux's eth0 first (on ours the file does
# not exist). lo's ::1 stays on both.
{ echo 1 > /proc/sys/net/ipv6/conf/eth0/disable_ipv6; } 2>/dev/null
# Linux logs refused MTUs on the console; only the errnos are compared.
dmesg -n 1 2>/dev/null
IP=/usr/sbin/ip
# ifconfig's packet and byte counters differ by nature (what each kernel sent: IPv6 and
# ARP traffic, timings); they are replaced by N.
counters() { sed -E 's/(packets|bytes|dropped):[0-9]+( \([^)]*\))?/\1:N/g'; }

# Linux brings lo up DOWN; this kernel has it up from boot (programs run without an init that
# raises it), so both start by raising it.
$IP link set lo up; echo "ip link set lo up: $?"
echo "== as it boots, lo raised"
$IP link
$IP addr
$IP route
echo "== configure"
$IP addr add 10.0.2.15/24 dev eth0; echo "ip addr add: $?"
$IP link set eth0 up; echo "ip link set eth0 up: $?"
$IP route add default via 10.0.2.2; echo "ip route add default: $?"
# The carrier comes up a moment after the link (Linux's linkwatch): wait for it, not a time.
i=0
while ! $IP link show eth0 | grep -q "state UP" && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
echo "== iproute2"
$IP link
$IP addr
$IP route
$IP -4 addr show dev eth0
$IP link show lo
$IP route show dev eth0
echo "== busybox ip"
busybox ip link
busybox ip addr
busybox ip route
echo "== ifconfig"
ifconfig | counters
ifconfig -a eth0 | counters
echo "== route"
route -n
cat /proc/net/route
head -2 /proc/net/dev
tail -n +3 /proc/net/dev | cut -d: -f1
cat /proc/net/if_inet6
echo "== changes and errors (exit codes: iproute2 words some errors differently)"
$IP addr add 10.0.2.15/24 dev eth0 2>/dev/null; echo "add again: $?"
$IP link set nosuch up 2>/dev/null; echo "no such link: $?"
$IP route add 10.9.0.0/16 via 192.168.77.1 2>/dev/null; echo "unreachable gateway: $?"
$IP route add 10.9.0.0/16 via 10.0.2.2; echo "route via gateway: $?"
$IP route add 10.9.0.0/16 via 10.0.2.2 2>/dev/null; echo "route again: $?"
$IP route
$IP route del 10.9.0.0/16; echo "route del: $?"
$IP route del 10.9.0.0/16 2>/dev/null; echo "route del again: $?"
$IP addr add 10.0.2.99/24 dev eth0; echo "second address: $?"
$IP -4 addr
$IP addr del 10.0.2.99/24 dev eth0; echo "addr del: $?"
$IP addr del 10.0.2.99/24 dev eth0 2>/dev/null; echo "addr del again: $?"
echo "== ifconfig and route change it"
ifconfig eth0 down; echo "ifconfig down: $?"
$IP link show eth0
$IP route
ifconfig eth0 up; echo "ifconfig up: $?"
route add default gw 10.0.2.2; echo "route add: $?"
route -n
ifconfig eth0 10.0.2.16; echo "ifconfig address: $?"
$IP -4 addr show dev eth0
ifconfig eth0 netmask 255.255.255.0; echo "ifconfig netmask: $?"
$IP -4 addr show dev eth0
$IP route
ifconfig eth0 10.0.2.15 netmask 255.255.255.0 up; echo "ifconfig back: $?"
$IP route replace default via 10.0.2.2 2>/dev/null || route add default gw 10.0.2.2
$IP route
echo "== DNS through slirp (10.0.2.3)"
echo "nameserver 10.0.2.3" > /etc/resolv.conf
if nslookup deb.debian.org >/dev/null 2>&1; then echo "resolved"; else echo "not resolved"; fi
/bin/netconf
echo "exit $?"
echo '==== SCRIPT END ===='
