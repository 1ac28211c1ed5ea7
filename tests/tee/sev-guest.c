/* /dev/sev-guest as a program written for Linux uses it, and as a careless or hostile one
 * misuses it, under the simulated TEE playing SEV-SNP (tee=sim sim.registers=none).
 *
 * Linux cannot run this probe without SNP hardware, so each check states the answer Linux's
 * driver gives (drivers/virt/coco/sev-guest, 6.1 and later: read the argument, refuse a zero
 * msg_version without writing exitinfo2 back, refuse null buffers, copy exitinfo2 back when
 * it is non-zero) and prints `ok` or `FAIL`; tests/src/sev_guest.rs requires no FAIL, the
 * count, and checks the reports it prints on the host. The structures and ioctl numbers come
 * from Linux's own UAPI header. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/sev-guest.h>

/* <linux/tdx-guest.h> came with Linux 6.2, after Debian 12's headers: its one command, for
 * the wrong-device check, is `_IOWR('T', 1, struct tdx_report_req)` (64 + 1024 bytes). */
#define TDX_CMD_GET_REPORT0 _IOWR('T', 1, struct { unsigned char data[64 + 1024]; })

static int checks, failures;

static void expect(const char *what, int rc, int want_errno, int got_errno) {
    checks++;
    int ok = want_errno ? (rc == -1 && got_errno == want_errno) : rc == 0;
    if (ok) {
        printf("ok %s\n", what);
    } else {
        failures++;
        printf("FAIL %s: rc %d errno %d (%s), expected %s\n", what, rc, rc ? got_errno : 0,
               rc ? strerror(got_errno) : "none", want_errno ? strerror(want_errno) : "success");
    }
}

static void expect_u64(const char *what, uint64_t got, uint64_t want) {
    checks++;
    if (got == want) {
        printf("ok %s\n", what);
    } else {
        failures++;
        printf("FAIL %s: %#llx, expected %#llx\n", what, (unsigned long long)got,
               (unsigned long long)want);
    }
}

static void hex(const char *tag, const void *p, size_t n) {
    printf("%s ", tag);
    for (size_t i = 0; i < n; i++) printf("%02x", ((const unsigned char *)p)[i]);
    printf("\n");
}

static int fd;

/* Runs `call`, then reads errno: a check of what the call set, not of what came before. */
#define TRY(what, call, want_errno)                                                         \
    do {                                                                                    \
        errno = 0;                                                                          \
        int rc_ = (call);                                                                   \
        expect(what, rc_, want_errno, errno);                                               \
    } while (0)

static uint32_t u32_at(const unsigned char *p) {
    return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Two threads asking at once: each report must bind its own request (Linux serialises the
 * guest requests with a mutex; so does OSTD). */
static void *concurrent(void *arg) {
    unsigned char tag = (unsigned char)(uintptr_t)arg;
    for (int i = 0; i < 20; i++) {
        struct snp_report_req req = {0};
        struct snp_report_resp resp = {0};
        memset(req.user_data, tag + i, sizeof req.user_data);
        struct snp_guest_request_ioctl io = {
            .msg_version = 1, .req_data = (uintptr_t)&req, .resp_data = (uintptr_t)&resp};
        if (ioctl(fd, SNP_GET_REPORT, &io) != 0 || u32_at(resp.data) != 0)
            return (void *)1;
    }
    return NULL;
}

int main(void) {
    fd = open("/dev/sev-guest", O_RDWR);
    expect("open /dev/sev-guest", fd < 0 ? -1 : 0, 0, errno);
    if (fd < 0) return 1;

    struct snp_report_req req = {0};
    struct snp_report_resp resp;
    memcpy(req.user_data, "cocoon sev-guest probe", 22);
    struct snp_guest_request_ioctl io;
    /* A page nobody may touch (kept mapped, so no later mmap reuses its address). */
    void *unmapped = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    void *readonly = mmap(NULL, 8192, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
#define RESET(...) (io = (struct snp_guest_request_ioctl){__VA_ARGS__})

    /* The argument itself. */
    TRY("argument NULL: EFAULT", ioctl(fd, SNP_GET_REPORT, NULL), EFAULT);
    TRY("argument inaccessible: EFAULT", ioctl(fd, SNP_GET_REPORT, unmapped), EFAULT);
    RESET(.msg_version = 0, .req_data = (uintptr_t)&req, .resp_data = (uintptr_t)&resp,
          .exitinfo2 = 0x1234);
    TRY("msg_version 0: EINVAL", ioctl(fd, SNP_GET_REPORT, &io), EINVAL);
    expect_u64("msg_version 0: exitinfo2 not written back", io.exitinfo2, 0x1234);

    /* Buffers. */
    RESET(.msg_version = 1, .req_data = 0, .resp_data = (uintptr_t)&resp);
    TRY("req_data NULL: EINVAL", ioctl(fd, SNP_GET_REPORT, &io), EINVAL);
    expect_u64("req_data NULL: exitinfo2 is no firmware call", io.exitinfo2, 0xff);
    RESET(.msg_version = 1, .req_data = (uintptr_t)&req, .resp_data = 0);
    TRY("resp_data NULL: EINVAL", ioctl(fd, SNP_GET_REPORT, &io), EINVAL);
    RESET(.msg_version = 1, .req_data = (uintptr_t)unmapped, .resp_data = (uintptr_t)&resp);
    TRY("req_data inaccessible: EFAULT", ioctl(fd, SNP_GET_REPORT, &io), EFAULT);
    RESET(.msg_version = 1, .req_data = (uintptr_t)&req, .resp_data = (uintptr_t)unmapped);
    TRY("resp_data inaccessible: EFAULT", ioctl(fd, SNP_GET_REPORT, &io), EFAULT);
    RESET(.msg_version = 1, .req_data = (uintptr_t)&req, .resp_data = (uintptr_t)readonly);
    TRY("resp_data read-only: EFAULT", ioctl(fd, SNP_GET_REPORT, &io), EFAULT);
    /* A response buffer that ends 8 bytes into an unmapped page. */
    char *edge = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(edge + 4096, 4096);
    RESET(.msg_version = 1, .req_data = (uintptr_t)&req,
          .resp_data = (uintptr_t)(edge + 4096 - sizeof resp + 8));
    TRY("resp_data 8 bytes short: EFAULT", ioctl(fd, SNP_GET_REPORT, &io), EFAULT);

    /* Commands. */
    RESET(.msg_version = 1, .req_data = (uintptr_t)&req, .resp_data = (uintptr_t)&resp);
    TRY("command 'S' 3: ENOTTY", ioctl(fd, _IOWR('S', 3, struct snp_guest_request_ioctl), &io),
        ENOTTY);
    expect_u64("command 'S' 3: exitinfo2 is no firmware call", io.exitinfo2, 0xff);
    RESET(.msg_version = 1, .req_data = (uintptr_t)&req, .resp_data = (uintptr_t)&resp);
    TRY("TDX_CMD_GET_REPORT0 on sev-guest: ENOTTY", ioctl(fd, TDX_CMD_GET_REPORT0, &io), ENOTTY);
    char byte;
    TRY("read(): EINVAL", read(fd, &byte, 1) < 0 ? -1 : 0, EINVAL);
    TRY("write(): EINVAL", write(fd, "x", 1) < 0 ? -1 : 0, EINVAL);

    /* A report, at VMPL 0 and 3; VMPL 4 is refused by the (simulated) PSP. */
    RESET(.msg_version = 1, .req_data = (uintptr_t)&req, .resp_data = (uintptr_t)&resp,
          .exitinfo2 = 0x77);
    memset(&resp, 0xee, sizeof resp);
    TRY("SNP_GET_REPORT", ioctl(fd, SNP_GET_REPORT, &io), 0);
    expect_u64("report: exitinfo2 left as it was (0 is not copied back)", io.exitinfo2, 0x77);
    expect_u64("report: status", u32_at(resp.data), 0);
    expect_u64("report: report_size", u32_at(resp.data + 4), 1184);
    expect_u64("report: zero after the report", resp.data[32 + 1184], 0);
    hex("report-user-data", req.user_data, sizeof req.user_data);
    hex("report", resp.data + 32, 1184);
    req.vmpl = 3;
    RESET(.msg_version = 1, .req_data = (uintptr_t)&req, .resp_data = (uintptr_t)&resp);
    TRY("SNP_GET_REPORT at VMPL 3", ioctl(fd, SNP_GET_REPORT, &io), 0);
    expect_u64("report at VMPL 3: vmpl field", u32_at(resp.data + 32 + 0x30), 3);
    req.vmpl = 4;
    RESET(.msg_version = 1, .req_data = (uintptr_t)&req, .resp_data = (uintptr_t)&resp);
    TRY("SNP_GET_REPORT at VMPL 4: EIO", ioctl(fd, SNP_GET_REPORT, &io), EIO);
    req.vmpl = 0;

    /* Extended reports: the certificate buffer's length is whole pages, at most 16 KiB. */
    static unsigned char certs[8192] __attribute__((aligned(4096)));
    struct snp_ext_report_req ext = {.data = req, .certs_address = (uintptr_t)certs};
    ext.certs_len = 100;
    RESET(.msg_version = 1, .req_data = (uintptr_t)&ext, .resp_data = (uintptr_t)&resp);
    TRY("ext: certs_len 100: EINVAL", ioctl(fd, SNP_GET_EXT_REPORT, &io), EINVAL);
    ext.certs_len = 32768;
    RESET(.msg_version = 1, .req_data = (uintptr_t)&ext, .resp_data = (uintptr_t)&resp);
    TRY("ext: certs_len 32 KiB: EINVAL", ioctl(fd, SNP_GET_EXT_REPORT, &io), EINVAL);
    ext.certs_len = 4096;
    ext.certs_address = (uintptr_t)unmapped;
    RESET(.msg_version = 1, .req_data = (uintptr_t)&ext, .resp_data = (uintptr_t)&resp);
    TRY("ext: certificates inaccessible: EFAULT", ioctl(fd, SNP_GET_EXT_REPORT, &io), EFAULT);
    ext.certs_address = (uintptr_t)certs;
    memset(certs, 0xee, sizeof certs);
    RESET(.msg_version = 1, .req_data = (uintptr_t)&ext, .resp_data = (uintptr_t)&resp);
    TRY("ext: one page", ioctl(fd, SNP_GET_EXT_REPORT, &io), 0);
    /* The sim has no host to hand out certificates: an empty table, the page zeroed. */
    int zero = 1;
    for (int i = 0; i < 4096; i++) zero &= certs[i] == 0;
    expect_u64("ext: an empty certificate table", zero, 1);
    expect_u64("ext: the byte after the page untouched", certs[4096], 0xee);
    ext.certs_address = 0;
    ext.certs_len = 0;
    RESET(.msg_version = 1, .req_data = (uintptr_t)&ext, .resp_data = (uintptr_t)&resp);
    TRY("ext: no certificate buffer", ioctl(fd, SNP_GET_EXT_REPORT, &io), 0);

    /* Requests in flight at once. */
    pthread_t a, b;
    void *ra, *rb;
    pthread_create(&a, NULL, concurrent, (void *)(uintptr_t)0x10);
    pthread_create(&b, NULL, concurrent, (void *)(uintptr_t)0x80);
    pthread_join(a, &ra);
    pthread_join(b, &rb);
    expect_u64("two threads, 20 reports each, all served", ra == NULL && rb == NULL, 1);

    printf("failures: %d\n", failures);
    printf("checks: %d\n", checks);
    return failures != 0;
}
