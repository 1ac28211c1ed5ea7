# Launch as a (simulated) CVM -> attest -> secret: cocoon-attest asks the host's `attest serve`
# (reached through slirp as 10.0.2.2, over HTTPS) for a nonce, binds it with a fresh key through
# configfs-tsm, sends the report and the CC event log, and prints the resource released to it
# (tests/src/secret_release.rs builds this image and checks the output).
# The host changes the next line's last letter to make "the same image, one byte changed".
# measured-boot variant: a
mount -t sysfs sysfs /sys
mount -t configfs none /sys/kernel/config
# The verifier's CA: part of the image, so measured with it (the host writes it in).
mkdir -p /etc/cocoon
cat > /etc/cocoon/verifier-ca.pem <<'EOF'
@CA@
EOF
cocoon-attest --kbs @KBS@ --ca /etc/cocoon/verifier-ca.pem --resource default/key/secret \
    > /tmp/secret 2> /tmp/stderr
echo "cocoon-attest exit $?"
sed 's/^/said: /' /tmp/stderr
echo "secret: $(cat /tmp/secret)"
