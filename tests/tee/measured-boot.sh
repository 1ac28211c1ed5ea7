# Measured boot and configfs-tsm under tee=sim, read the way an attestation client reads them,
# and configfs-tsm's answers to bad input (tests/src/measured_boot.rs checks the output on the
# host: the errno names below are busybox's strerror text, as Linux's).
mount -t sysfs sysfs /sys
mount -t configfs none /sys/kernel/config
R=/sys/kernel/config/tsm/report/measured-boot
mkdir $R
hex() { hexdump -v -e '1/1 "%02x"' "$1"; }
try() { out=$("$@" 2>&1) && echo "ok" || echo "refused: ${out##*: }"; }
echo "bad input, outblob before inblob: $(try cat $R/outblob)"
echo "bad input, inblob read: $(try cat $R/inblob)"
echo "bad input, inblob of 65 bytes: $(try dd if=/dev/zero of=$R/inblob bs=65 count=1)"
echo "bad input, privlevel 4: $(try sh -c "echo 4 > $R/privlevel")"
echo "bad input, second mkdir: $(try mkdir $R)"
echo "bad input, writes counted after refusals: $(cat $R/generation)"
printf 'cocoon-measured-boot-nonce' > $R/inblob
echo "provider $(cat $R/provider)"
echo "generation $(cat $R/generation)"
echo "outblob $(hex $R/outblob)"
echo "ccel-table $(hex /sys/firmware/acpi/tables/CCEL)"
echo "ccel $(hex /sys/firmware/acpi/tables/data/CCEL)"
echo "done, rmdir: $(try rmdir $R)"
echo '==== SCRIPT END ===='
