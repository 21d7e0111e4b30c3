/* Runs AArch64 machine code as a function, under qemu-aarch64, for peach's tests.
 *
 *   loader CODE DATA ARG...
 *
 * CODE is a file of machine code, called at offset 0. DATA is a file loaded into a 64-byte
 * aligned buffer ("-" for none); after the call the buffer is written to DATA.out. Each ARG is
 *   xN=V   integer register xN (0-7): a number, or @OFF for the address of DATA + OFF
 *   dN=V   FP register dN (0-7): the 64-bit pattern, as a number
 *   kN=V   stack word N (8 bytes from the stack pointer at the call, N < 32)
 * The loader puts canaries in x19-x28 and d8-d15, calls the code, and prints
 *   x0=HEX d0=HEX
 * then one line per callee-saved register the code changed, or a changed stack pointer; the exit
 * status is 0 only if everything was preserved.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

struct call {
    uint64_t x[8];          /*   0 */
    uint64_t d[8];          /*  64 */
    uint64_t stack[32];     /* 128 */
    uint64_t fn;            /* 384 */
    uint64_t rx0;           /* 392 */
    uint64_t rd0;           /* 400 */
    uint64_t after_x[10];   /* 408 */
    uint64_t after_d[8];    /* 488 */
    int64_t sp_delta;       /* 552 */
    uint64_t canary_x[10];  /* 560 */
    uint64_t canary_d[8];   /* 640 */
};

void call_code(struct call *c);

/* Saves the C caller's callee-saved registers, copies the stack words below a fresh stack
 * pointer, loads canaries and arguments, calls, and records what came back. */
__asm__(
    ".text\n"
    ".global call_code\n"
    "call_code:\n"
    "  stp x29, x30, [sp, #-16]!\n"
    "  mov x29, sp\n"
    "  stp x19, x20, [sp, #-16]!\n"
    "  stp x21, x22, [sp, #-16]!\n"
    "  stp x23, x24, [sp, #-16]!\n"
    "  stp x25, x26, [sp, #-16]!\n"
    "  stp x27, x28, [sp, #-16]!\n"
    "  stp d8, d9, [sp, #-16]!\n"
    "  stp d10, d11, [sp, #-16]!\n"
    "  stp d12, d13, [sp, #-16]!\n"
    "  stp d14, d15, [sp, #-16]!\n"
    "  str x0, [sp, #-16]!\n"
    "  sub sp, sp, #256\n"
    "  mov x9, #0\n"
    "  add x10, x0, #128\n"
    "1:\n"
    "  ldr x11, [x10, x9, lsl #3]\n"
    "  str x11, [sp, x9, lsl #3]\n"
    "  add x9, x9, #1\n"
    "  cmp x9, #32\n"
    "  b.lt 1b\n"
    "  add x10, x0, #560\n"
    "  ldp x19, x20, [x10, #0]\n"
    "  ldp x21, x22, [x10, #16]\n"
    "  ldp x23, x24, [x10, #32]\n"
    "  ldp x25, x26, [x10, #48]\n"
    "  ldp x27, x28, [x10, #64]\n"
    "  ldp d8, d9, [x10, #80]\n"
    "  ldp d10, d11, [x10, #96]\n"
    "  ldp d12, d13, [x10, #112]\n"
    "  ldp d14, d15, [x10, #128]\n"
    "  ldr x16, [x0, #384]\n"
    "  ldp d0, d1, [x0, #64]\n"
    "  ldp d2, d3, [x0, #80]\n"
    "  ldp d4, d5, [x0, #96]\n"
    "  ldp d6, d7, [x0, #112]\n"
    "  ldp x2, x3, [x0, #16]\n"
    "  ldp x4, x5, [x0, #32]\n"
    "  ldp x6, x7, [x0, #48]\n"
    "  ldp x0, x1, [x0, #0]\n"
    "  blr x16\n"
    "  mov x9, sp\n"
    "  add sp, sp, #256\n"
    "  ldr x10, [sp], #16\n"
    "  str x0, [x10, #392]\n"
    "  str d0, [x10, #400]\n"
    "  stp x19, x20, [x10, #408]\n"
    "  stp x21, x22, [x10, #424]\n"
    "  stp x23, x24, [x10, #440]\n"
    "  stp x25, x26, [x10, #456]\n"
    "  stp x27, x28, [x10, #472]\n"
    "  add x11, x10, #488\n"
    "  stp d8, d9, [x11, #0]\n"
    "  stp d10, d11, [x11, #16]\n"
    "  stp d12, d13, [x11, #32]\n"
    "  stp d14, d15, [x11, #48]\n"
    "  sub x9, x9, x29\n"
    "  str x9, [x10, #552]\n"
    "  ldp d14, d15, [sp], #16\n"
    "  ldp d12, d13, [sp], #16\n"
    "  ldp d10, d11, [sp], #16\n"
    "  ldp d8, d9, [sp], #16\n"
    "  ldp x27, x28, [sp], #16\n"
    "  ldp x25, x26, [sp], #16\n"
    "  ldp x23, x24, [sp], #16\n"
    "  ldp x21, x22, [sp], #16\n"
    "  ldp x19, x20, [sp], #16\n"
    "  ldp x29, x30, [sp], #16\n"
    "  ret\n");

static void *read_file(const char *path, size_t *len, size_t align) {
    FILE *f = fopen(path, "rb");
    if (!f) { perror(path); exit(2); }
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    void *buf = aligned_alloc(align, (*len + align) / align * align);
    if (!buf || fread(buf, 1, *len, f) != *len) { fprintf(stderr, "cannot read %s\n", path); exit(2); }
    fclose(f);
    return buf;
}

int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: loader CODE DATA ARG...\n"); return 2; }
    static struct call c;
    size_t code_len = 0, data_len = 0;
    void *code = read_file(argv[1], &code_len, 64);
    unsigned char *data = NULL;
    if (strcmp(argv[2], "-") != 0) data = read_file(argv[2], &data_len, 64);
    for (int i = 3; i < argc; i++) {
        char kind = argv[i][0];
        char *eq = strchr(argv[i], '=');
        if (!eq) { fprintf(stderr, "bad argument %s\n", argv[i]); return 2; }
        int n = atoi(argv[i] + 1);
        uint64_t v = eq[1] == '@' ? (uint64_t)(uintptr_t)(data + strtoull(eq + 2, NULL, 0))
                                  : (uint64_t)strtoull(eq + 1, NULL, 0);
        if (kind == 'x' && n < 8) c.x[n] = v;
        else if (kind == 'd' && n < 8) c.d[n] = v;
        else if (kind == 'k' && n < 32) c.stack[n] = v;
        else { fprintf(stderr, "bad argument %s\n", argv[i]); return 2; }
    }
    for (int i = 0; i < 10; i++) c.canary_x[i] = 0x5eed000000000000ull + 0x1111ull * (uint64_t)(19 + i);
    for (int i = 0; i < 8; i++) c.canary_d[i] = 0x4000c0de00000000ull + (uint64_t)(8 + i);
    void *mem = mmap(NULL, code_len + 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) { perror("mmap"); return 2; }
    memcpy(mem, code, code_len);
    if (mprotect(mem, code_len + 4096, PROT_READ | PROT_EXEC) != 0) { perror("mprotect"); return 2; }
    __builtin___clear_cache((char *)mem, (char *)mem + code_len);
    c.fn = (uint64_t)(uintptr_t)mem;
    call_code(&c);
    printf("x0=%016llx d0=%016llx\n", (unsigned long long)c.rx0, (unsigned long long)c.rd0);
    int ok = 1;
    for (int i = 0; i < 10; i++)
        if (c.after_x[i] != c.canary_x[i]) { printf("clobbered x%d\n", 19 + i); ok = 0; }
    for (int i = 0; i < 8; i++)
        if (c.after_d[i] != c.canary_d[i]) { printf("clobbered d%d\n", 8 + i); ok = 0; }
    if (c.sp_delta != -416) { printf("stack pointer moved by %lld\n", (long long)(c.sp_delta + 416)); ok = 0; }
    if (data) {
        char out[4096];
        snprintf(out, sizeof out, "%s.out", argv[2]);
        FILE *f = fopen(out, "wb");
        if (!f || fwrite(data, 1, data_len, f) != data_len) { perror(out); return 2; }
        fclose(f);
    }
    return ok ? 0 : 3;
}
