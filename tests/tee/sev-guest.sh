# /dev/sev-guest under the simulated TEE playing SEV-SNP (tee=sim sim.registers=none): the
# ioctl probe (tests/tee/sev-guest.c), the event log the reports are bound to, and, when the
# image carries it, the unmodified `snpguest` (tests/src/sev_guest.rs checks it all on the host).
mount -t sysfs sysfs /sys
hex() { hexdump -v -e '1/1 "%02x"' "$1"; }
ls -l /dev/sev-guest
/bin/sev-guest
echo "probe exit $?"
if [ -x /bin/snpguest ]; then
    cd /tmp
    snpguest report report.bin request.bin --random --vmpl 0
    echo "snpguest report exit $?"
    echo "snpguest-request $(hex request.bin)"
    echo "snpguest-report $(hex report.bin)"
    snpguest display report report.bin
    echo "snpguest display report exit $?"
    snpguest certificates der certs
    echo "snpguest certificates exit $?"
fi
# Read last: each report above binds the log as it was then, and nothing is measured after
# boot, so it is the same log.
echo "ccel $(hex /sys/firmware/acpi/tables/data/CCEL)"
echo '==== SCRIPT END ===='
