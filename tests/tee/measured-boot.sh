# Measured boot and configfs-tsm under tee=sim, read the way an attestation client reads them
# (tests/src/measured_boot.rs checks the output on the host).
mount -t sysfs sysfs /sys
mount -t configfs none /sys/kernel/config
R=/sys/kernel/config/tsm/report/measured-boot
mkdir $R
printf 'cocoon-measured-boot-nonce' > $R/inblob
hex() { hexdump -v -e '1/1 "%02x"' "$1"; }
echo "provider $(cat $R/provider)"
echo "generation $(cat $R/generation)"
echo "outblob $(hex $R/outblob)"
echo "ccel-table $(hex /sys/firmware/acpi/tables/CCEL)"
echo "ccel $(hex /sys/firmware/acpi/tables/data/CCEL)"
echo '==== SCRIPT END ===='
