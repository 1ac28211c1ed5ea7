# The two commands a newcomer needs: `make run` and `make test`. See README.md.

SHELL := /bin/bash
KERNEL_TARGET := x86_64-unknown-linux-gnu
KERNEL_TARGET_DIR := target/kernel
KERNEL_PROFILE := release
KERNEL_RUSTFLAGS := -Crelocation-model=static -Ccode-model=kernel -Cno-redzone=yes -Cforce-frame-pointers=yes
KERNEL_ELF := $(KERNEL_TARGET_DIR)/$(KERNEL_TARGET)/$(KERNEL_PROFILE)/kernel
KERNEL_BZIMAGE := $(KERNEL_TARGET_DIR)/bzImage
INITRAMFS := target/initramfs/busybox.cpio.gz
DEBIAN_IMAGE := target/debian/debian.cpio.gz
DEBIAN_DISK := target/debian/debian.img
# make run IMAGE=debian boots Debian's userland (bash, coreutils, python3) from an ext2 root
# disk instead of busybox from an initramfs (IMAGE=debian-initramfs: the same in RAM).
IMAGE ?= busybox
ifeq ($(IMAGE),debian)
RUN_DEPS := $(DEBIAN_DISK)
RUN_ENV := DISK=$(DEBIAN_DISK) CMDLINE="$${CMDLINE:-console=ttyS0 root=/dev/vda rw init=/init$(if $(filter user,$(NET)), ip=dhcp)}"
RUN_MEM := 2G
else ifneq ($(filter oci:%,$(IMAGE)),)
# make run IMAGE=oci:PATH boots a container image (an OCI layout directory or tar, a docker-save
# tar, or a root directory): images build writes its root disk and command line into
# target/oci-run, and the kernel starts its entrypoint (ENTRYPOINT= and CMD= override the
# image's, as images build --entrypoint/--cmd).
OCI_OUT := target/oci-run
RUN_DEPS := oci-image
RUN_ENV := DISK=$(OCI_OUT)/rootfs.ext2 DISK_RO=1 CMDLINE="$${CMDLINE:-$$(cat $(OCI_OUT)/cmdline)}"
RUN_MEM := 1G
else ifeq ($(IMAGE),debian-initramfs)
RUN_DEPS := $(DEBIAN_IMAGE)
RUN_ENV := INITRD=$${INITRD:-$(DEBIAN_IMAGE)}
RUN_MEM := 2G
else
RUN_DEPS := $(INITRAMFS)
RUN_ENV := INITRD=$${INITRD:-$(INITRAMFS)}
RUN_MEM := 512M
endif
QEMU_ARGS ?=
# make run gives the guest a NIC on QEMU's user networking, configured by ip=dhcp (NET=none:
# no NIC); HOSTFWD="tcp:127.0.0.1:8080-:80" forwards host ports to it (deploy/qemu/devices.sh).
NET ?= user
export NET HOSTFWD

.PHONY: all deps kernel kernel-elf bzimage initramfs run run-ovmf test test-debian tee-tools host-test clippy clean

all: kernel

deps:
	@./deploy/deps.sh

kernel-elf:
	@env -u CARGO_ENCODED_RUSTFLAGS RUSTFLAGS="$(KERNEL_RUSTFLAGS)" \
		cargo build -p kernel --profile $(KERNEL_PROFILE) --target $(KERNEL_TARGET) --target-dir $(KERNEL_TARGET_DIR)
	@cargo run -q -p images --bin ksyms -- $(KERNEL_ELF)

bzimage: kernel-elf
	@cargo run -q -p images --bin mkbzimage -- $(KERNEL_ELF) $(KERNEL_BZIMAGE)

# Builds both images; the last two lines are their paths (PVH ELF, then bzImage).
kernel: bzimage
	@echo $(abspath $(KERNEL_ELF))
	@echo $(abspath $(KERNEL_BZIMAGE))

# IMAGE=oci:PATH's root disk (see the top of this file); always rebuilt, as the input may have
# changed.
.PHONY: oci-image
oci-image:
	@cargo run -q --release -p images --bin images -- build --input "$(patsubst oci:%,%,$(IMAGE))" \
		--out $(OCI_OUT) $(if $(filter user,$(NET)),--append ip=dhcp) \
		$(if $(ENTRYPOINT),--entrypoint "$(ENTRYPOINT)") $(foreach c,$(CMD),--cmd "$(c)")

# The default image: Debian's static busybox with an interactive shell as init.
initramfs: $(INITRAMFS)
$(INITRAMFS): images/initramfs/init images/initramfs/mkinitramfs.sh /bin/busybox
	@./images/initramfs/mkinitramfs.sh $@

# The Debian image: debootstrap minbase + images/debian/packages, cached under target/debian.
$(DEBIAN_IMAGE) $(DEBIAN_DISK): images/debian/init images/debian/packages images/debian/mkimage.sh
	@mkdir -p $(dir $@) && ./images/debian/mkimage.sh $@

run: deps kernel-elf $(RUN_DEPS)
	@MEM=$${MEM:-$(RUN_MEM)} $(RUN_ENV) ./deploy/qemu/run-pvh.sh $(KERNEL_ELF) $(QEMU_ARGS)

run-ovmf: deps bzimage $(RUN_DEPS)
	@MEM=$${MEM:-$(RUN_MEM)} $(RUN_ENV) ./deploy/qemu/run-ovmf.sh $(KERNEL_BZIMAGE) $(QEMU_ARGS)

host-test:
	cargo test --workspace --exclude kernel --exclude ostd

# What make test's clippy check runs: the host crates, then tee, ext2, tee-abi and guest-image without
# them, as no_std libraries, then OSTD and the kernel.
clippy:
	cargo clippy --workspace --exclude kernel --exclude ostd --all-targets -- -D warnings
	cargo clippy -p tee -p ext2 -p tee-abi -p guest-image --lib -- -D warnings
	cargo clippy -p ostd -p kernel -- -D warnings

test: deps kernel initramfs
	@cargo run -q -p tests --bin test-all -- --elf $(KERNEL_ELF) --bzimage $(KERNEL_BZIMAGE) --initramfs $(INITRAMFS)

# The verifier's container image (an OCI layout in target/attest-image, for deploy/k8s): the
# attest binary built static, run as uid 65532, no base image. Push it with skopeo or crane.
.PHONY: attest-image
attest-image:
	@cargo build -q --release -p attestation --bin attest --target $(KERNEL_TARGET) --target-dir target/static \
		--config "build.rustflags=['-C','target-feature=+crt-static']"
	@cargo run -q --release -p images --bin images -- pack \
		--file target/static/$(KERNEL_TARGET)/release/attest:/usr/bin/attest \
		--entrypoint /usr/bin/attest --user 65532:65532 --out target/attest-image

# Unmodified TEE tools in the guest under tee=sim (today virtee's snpguest against /dev/sev-guest,
# the sim playing SEV-SNP); builds them from crates.io into target/tools first (minutes).
tee-tools: deps kernel-elf
	@cargo run -q -p tests --bin tee-tools -- $(KERNEL_ELF)

# Container images of Debian's python3 http.server and redis-server (images build from the
# Debian root), booted with hostfwd and answering the host.
.PHONY: test-containers
test-containers: deps kernel-elf
	@cargo run -q --release -p tests --bin container-services -- $(KERNEL_ELF)

# Debian's dynamically linked userland (bash, coreutils, python3) against Linux 6.1.
test-debian: deps kernel-elf
	@cargo run -q -p tests --bin debian-ref -- $(KERNEL_ELF)

clean:
	cargo clean

# The instruction-counting QEMU plugin (README, "Profiling under TCG"): COCOON_PROFILE=DIR on
# any test or bench command loads it into every boot; profile-report reads what it writes.
.PHONY: profile-plugin
profile-plugin: target/profile/libtbprof.so
target/profile/libtbprof.so: tests/profile/tbprof.c
	@mkdir -p target/profile
	gcc -O2 -Wall -Wextra -shared -fPIC -o $@ $<

# Benchmarks against Linux (README, "Benchmarks"): Debian's cloud kernel (cached under
# target/bench/linux), Debian's fio with its libraries (target/bench/fio-package, for the storage
# rows), the benchmark initramfs, then the A/B runner. BENCH_ARGS is passed on.
.PHONY: bench
BENCH_DIR := target/bench
BENCH_ARGS ?=
bench: deps kernel
	@vmlinuz=$$(./tests/bench/fetch-linux.sh $(BENCH_DIR)/linux) && \
	fio=$$(./tests/bench/fetch-fio.sh $(BENCH_DIR)/fio-package) && \
	initrd=$$(./tests/bench/mkimage.sh $(BENCH_DIR)/image "$$vmlinuz") && \
	cargo run -q --release -p tests --bin bench -- --linux "$$vmlinuz" --ours $(KERNEL_ELF) \
		--initrd "$$initrd" --fio-root "$$fio" --out $(BENCH_DIR)/results.json $(BENCH_ARGS)
