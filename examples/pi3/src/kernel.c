// A small AArch64 kernel for the Raspberry Pi 3 (QEMU raspi3b): it writes every line on both
// serial ports (PL011 UART0 = QEMU serial port 0, mini UART = port 1), reads HELLO.TXT from the
// FAT partition of an MBR SD card through the SDHCI ("EMMC") controller, and lists the ustar
// initrd linked into it as a blob (_binary_initrd_tar_start/_end).

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long u64;

#define REG(addr) (*(volatile u32 *)(u64)(addr))
#define PERI 0x3F000000UL

// PL011 UART0 (BCM2835 ARM Peripherals §13.4): data register, flag register (bit 5 = TX FIFO full).
#define UART0_DR (PERI + 0x201000)
#define UART0_FR (PERI + 0x201018)
// Mini UART (§2.2): AUX enables, I/O data, line status (bit 5 = transmitter empty), extra control.
#define AUX_ENABLES (PERI + 0x215004)
#define AUX_MU_IO (PERI + 0x215040)
#define AUX_MU_LCR (PERI + 0x21504C)
#define AUX_MU_LSR (PERI + 0x215054)
#define AUX_MU_CNTL (PERI + 0x215060)

// SD Host Controller Simplified Specification 3.00 §2.2 register map, as the BCM2835 "EMMC" block.
#define EMMC (PERI + 0x300000)
#define SD_BLKSIZECNT (EMMC + 0x04)
#define SD_ARG1 (EMMC + 0x08)
#define SD_CMDTM (EMMC + 0x0C)
#define SD_RESP0 (EMMC + 0x10)
#define SD_DATA (EMMC + 0x20)
#define SD_STATUS (EMMC + 0x24)
#define SD_CONTROL0 (EMMC + 0x28)
#define SD_CONTROL1 (EMMC + 0x2C)
#define SD_INTERRUPT (EMMC + 0x30)
#define SD_IRPT_MASK (EMMC + 0x34)
#define SD_IRPT_EN (EMMC + 0x38)

// CMDTM: transfer mode in the low half, command register in the high half.
#define TM_READ (1u << 4)
#define CMD_RSP_NONE 0u
#define CMD_RSP_136 (1u << 16)
#define CMD_RSP_48 (2u << 16)
#define CMD_RSP_48B (3u << 16)
#define CMD_CRC (1u << 19)
#define CMD_INDEX (1u << 20)
#define CMD_DATA (1u << 21)
#define INT_CMD_DONE (1u << 0)
#define INT_DATA_DONE (1u << 1)
#define INT_READ_READY (1u << 5)
#define INT_ERROR (1u << 15)

// ---------- output on both ports ----------

static int mini_ready;

static void putc_both(char c) {
    while (REG(UART0_FR) & (1u << 5)) {}
    REG(UART0_DR) = (u32)c;
    if (mini_ready) {
        while (!(REG(AUX_MU_LSR) & (1u << 5))) {}
        REG(AUX_MU_IO) = (u32)c;
    }
}

static void puts_both(const char *s) {
    while (*s) {
        if (*s == '\n') putc_both('\r');
        putc_both(*s++);
    }
}

static void put_dec(u64 v) {
    char buf[21];
    int i = 20;
    buf[i] = 0;
    do { buf[--i] = (char)('0' + v % 10); v /= 10; } while (v);
    puts_both(buf + i);
}

static void put_hex(u64 v, int digits) {
    char buf[17];
    for (int i = digits - 1; i >= 0; i--) { buf[i] = "0123456789abcdef"[v & 15]; v >>= 4; }
    buf[digits] = 0;
    puts_both("0x");
    puts_both(buf);
}

/** Each port says which it is first, then both carry the same lines. */
static void hello_ports(void) {
    const char *a = "kiln pi3 on PL011\n";
    while (*a) { while (REG(UART0_FR) & (1u << 5)) {} REG(UART0_DR) = (u32)*a++; }
    REG(AUX_ENABLES) = 1;       // mini UART on
    REG(AUX_MU_CNTL) = 0;
    REG(AUX_MU_LCR) = 3;        // 8 bits
    REG(AUX_MU_CNTL) = 3;       // transmitter and receiver on
    const char *b = "kiln pi3 on mini UART\n";
    while (*b) { while (!(REG(AUX_MU_LSR) & (1u << 5))) {} REG(AUX_MU_IO) = (u32)*b++; }
    mini_ready = 1;
}

// ---------- SD card (SDHCI, PIO, one block at a time) ----------

static int sd_high_capacity;

static int sd_command(u32 index, u32 arg, u32 flags) {
    for (u32 i = 0; REG(SD_STATUS) & 1u; i++) if (i > 1000000) return -1;   // CMD inhibit
    REG(SD_INTERRUPT) = 0xffffffffu;
    REG(SD_ARG1) = arg;
    REG(SD_CMDTM) = (index << 24) | flags;
    for (u32 i = 0;; i++) {
        u32 irq = REG(SD_INTERRUPT);
        if (irq & INT_ERROR) { REG(SD_INTERRUPT) = irq; return -2; }
        if (irq & INT_CMD_DONE) break;
        if (i > 1000000) return -3;
    }
    REG(SD_INTERRUPT) = INT_CMD_DONE;
    return 0;
}

static int sd_init(void) {
    REG(SD_CONTROL1) = 1u << 24;                      // reset the host controller
    for (u32 i = 0; REG(SD_CONTROL1) & (1u << 24); i++) if (i > 1000000) return -1;
    REG(SD_CONTROL0) = 0x0Fu << 8;                    // bus power on, 3.3 V
    REG(SD_CONTROL1) = (0xEu << 16) | (0x80u << 8) | 1u;   // timeout, divider, internal clock on
    for (u32 i = 0; !(REG(SD_CONTROL1) & 2u); i++) if (i > 1000000) return -2;
    REG(SD_CONTROL1) |= 4u;                           // SD clock on
    REG(SD_IRPT_MASK) = 0xffffffffu;                  // latch every status bit
    REG(SD_IRPT_EN) = 0;                              // no interrupt lines: polled
    if (sd_command(0, 0, CMD_RSP_NONE)) return -3;    // GO_IDLE_STATE
    int v2 = sd_command(8, 0x1AA, CMD_RSP_48 | CMD_CRC | CMD_INDEX) == 0 && (REG(SD_RESP0) & 0xFFF) == 0x1AA;
    u32 ocr = 0;
    for (int tries = 0; tries < 1000; tries++) {       // SD_SEND_OP_COND until the card is ready
        if (sd_command(55, 0, CMD_RSP_48 | CMD_CRC | CMD_INDEX)) return -4;
        if (sd_command(41, (v2 ? 0x40000000u : 0) | 0x00FF8000u, CMD_RSP_48)) return -5;
        ocr = REG(SD_RESP0);
        if (ocr & 0x80000000u) break;
    }
    if (!(ocr & 0x80000000u)) return -6;
    sd_high_capacity = (ocr >> 30) & 1;
    if (sd_command(2, 0, CMD_RSP_136 | CMD_CRC)) return -7;                       // ALL_SEND_CID
    if (sd_command(3, 0, CMD_RSP_48 | CMD_CRC | CMD_INDEX)) return -8;            // SEND_RELATIVE_ADDR
    u32 rca = REG(SD_RESP0) & 0xFFFF0000u;
    if (sd_command(7, rca, CMD_RSP_48B | CMD_CRC | CMD_INDEX)) return -9;         // SELECT_CARD
    if (!sd_high_capacity && sd_command(16, 512, CMD_RSP_48 | CMD_CRC | CMD_INDEX)) return -10;  // SET_BLOCKLEN
    return 0;
}

static int sd_read(u32 lba, u8 *out) {
    REG(SD_BLKSIZECNT) = (1u << 16) | 512u;
    if (sd_command(17, sd_high_capacity ? lba : lba * 512u, CMD_RSP_48 | CMD_CRC | CMD_INDEX | CMD_DATA | TM_READ)) return -1;
    for (u32 i = 0; !(REG(SD_INTERRUPT) & INT_READ_READY); i++) if (i > 1000000) return -2;
    REG(SD_INTERRUPT) = INT_READ_READY;
    for (int i = 0; i < 128; i++) {
        u32 w = REG(SD_DATA);
        out[i * 4] = (u8)w; out[i * 4 + 1] = (u8)(w >> 8); out[i * 4 + 2] = (u8)(w >> 16); out[i * 4 + 3] = (u8)(w >> 24);
    }
    for (u32 i = 0; !(REG(SD_INTERRUPT) & INT_DATA_DONE); i++) if (i > 1000000) return -3;
    REG(SD_INTERRUPT) = INT_DATA_DONE;
    return 0;
}

// ---------- MBR + FAT12/16/32 (Microsoft fatgen103), root directory only ----------

static u8 sector[512];
static u8 fat_sector[512];

static u32 le16(const u8 *p) { return (u32)p[0] | (u32)p[1] << 8; }
static u32 le32(const u8 *p) { return le16(p) | le16(p + 2) << 16; }

struct fat {
    u32 fat_start, fat_type, spc, data_start, root_start, root_sectors, root_cluster;
};

static u32 fat_next(const struct fat *f, u32 cluster) {
    u32 offset = f->fat_type == 32 ? cluster * 4 : f->fat_type == 16 ? cluster * 2 : cluster + cluster / 2;
    if (sd_read(f->fat_start + offset / 512, fat_sector)) return 0x0FFFFFFF;
    u32 at = offset % 512;
    if (f->fat_type == 32) return le32(fat_sector + at) & 0x0FFFFFFF;
    if (f->fat_type == 16) return le16(fat_sector + at);
    u32 lo = fat_sector[at], hi;
    if (at == 511) { if (sd_read(f->fat_start + offset / 512 + 1, fat_sector)) return 0xFFF; hi = fat_sector[0]; }
    else hi = fat_sector[at + 1];
    u32 v = lo | hi << 8;
    return cluster & 1 ? v >> 4 : v & 0xFFF;
}

static int is_end(const struct fat *f, u32 c) {
    return c < 2 || c >= (f->fat_type == 32 ? 0x0FFFFFF8u : f->fat_type == 16 ? 0xFFF8u : 0xFF8u);
}

static int name_is(const u8 *entry, const char *name83) {
    for (int i = 0; i < 11; i++) if (entry[i] != (u8)name83[i]) return 0;
    return 1;
}

/** Prints a file's content (its cluster chain), then a newline. */
static int print_chain(const struct fat *f, u32 c, u32 size) {
    puts_both("sd: HELLO.TXT, ");
    put_dec(size);
    puts_both(" bytes: ");
    while (size && !is_end(f, c)) {
        for (u32 s = 0; s < f->spc && size; s++) {
            if (sd_read(f->data_start + (c - 2) * f->spc + s, sector)) return -3;
            for (u32 b = 0; b < 512 && size; b++, size--) if (sector[b] != '\n') putc_both((char)sector[b]);
        }
        c = fat_next(f, c);
    }
    puts_both("\n");
    return 0;
}

/** Looks for `name83` in `count` directory sectors from `lba`: 1 = found and printed, 0 = not here, -1 = end of directory. */
static int find_in_sectors(const struct fat *f, u32 lba, u32 count, const char *name83) {
    for (u32 n = 0; n < count; n++) {
        if (sd_read(lba + n, sector)) return -1;
        for (int i = 0; i < 512; i += 32) {
            const u8 *e = sector + i;
            if (e[0] == 0) return -1;
            if (e[0] == 0xE5 || e[11] == 0x0F || !name_is(e, name83)) continue;
            u32 size = le32(e + 28), c = le16(e + 26) | (f->fat_type == 32 ? le16(e + 20) << 16 : 0);
            return print_chain(f, c, size) == 0 ? 1 : -1;
        }
    }
    return 0;
}

/** Prints the file named `name83` (8.3, space padded) from the root directory. */
static int fat_print_file(const struct fat *f, const char *name83) {
    if (f->fat_type != 32) return find_in_sectors(f, f->root_start, f->root_sectors, name83) == 1 ? 0 : -1;
    for (u32 c = f->root_cluster; !is_end(f, c); c = fat_next(f, c)) {
        int r = find_in_sectors(f, f->data_start + (c - 2) * f->spc, f->spc, name83);
        if (r) return r == 1 ? 0 : -1;
    }
    return -1;
}

static void read_card(void) {
    int r = sd_init();
    if (r) { puts_both("sd: init failed "); put_dec((u64)-r); puts_both("\n"); return; }
    puts_both(sd_high_capacity ? "sd: SDHC card ready\n" : "sd: SDSC card ready\n");
    if (sd_read(0, sector) || sector[510] != 0x55 || sector[511] != 0xAA) { puts_both("sd: no MBR\n"); return; }
    const u8 *p = sector + 446;
    u32 type = p[4], start = le32(p + 8);
    puts_both("sd: MBR partition 1 type ");
    put_hex(type, 2);
    puts_both(" at LBA ");
    put_dec(start);
    puts_both("\n");
    if (sd_read(start, sector)) { puts_both("sd: cannot read the boot sector\n"); return; }
    struct fat f;
    u32 reserved = le16(sector + 14), fats = sector[16], root_entries = le16(sector + 17);
    u32 fat_size = le16(sector + 22) ? le16(sector + 22) : le32(sector + 36);
    u32 total = le16(sector + 19) ? le16(sector + 19) : le32(sector + 32);
    f.spc = sector[13];
    f.fat_start = start + reserved;
    f.root_start = f.fat_start + fats * fat_size;
    f.root_sectors = (root_entries * 32 + 511) / 512;
    f.data_start = f.root_start + f.root_sectors;
    u32 clusters = (total - (f.data_start - start)) / f.spc;
    f.fat_type = clusters < 4085 ? 12 : clusters < 65525 ? 16 : 32;
    f.root_cluster = f.fat_type == 32 ? le32(sector + 44) : 0;
    puts_both("sd: FAT");
    put_dec(f.fat_type);
    puts_both(", ");
    put_dec(clusters);
    puts_both(" clusters\n");
    if (fat_print_file(&f, "HELLO   TXT")) puts_both("sd: HELLO.TXT not found\n");
}

// ---------- the ustar initrd, linked in as a blob ----------

extern const u8 _binary_initrd_tar_start[], _binary_initrd_tar_end[];

static u64 octal(const u8 *p, int n) {
    u64 v = 0;
    for (int i = 0; i < n && p[i] >= '0' && p[i] <= '7'; i++) v = v * 8 + (u64)(p[i] - '0');
    return v;
}

static void list_initrd(void) {
    const u8 *p = _binary_initrd_tar_start, *end = _binary_initrd_tar_end;
    puts_both("initrd: ");
    put_dec((u64)(end - p));
    puts_both(" bytes at ");
    put_hex((u64)p, 8);
    puts_both("\n");
    while (p + 512 <= end && p[0]) {
        u64 size = octal(p + 124, 12);
        char kind = (char)p[156];
        puts_both(kind == '5' ? "initrd: dir  " : "initrd: file ");
        if (p[345]) { puts_both((const char *)p + 345); puts_both("/"); }
        char name[101];
        for (int i = 0; i < 100; i++) name[i] = (char)p[i];
        name[100] = 0;
        puts_both(name);
        if (kind == '0' || kind == 0) {
            puts_both(" ");
            put_dec(size);
            puts_both(" bytes: ");
            for (u64 i = 0; i < size && p[512 + i] != '\n'; i++) putc_both((char)p[512 + i]);
        }
        puts_both("\n");
        p += 512 + ((size + 511) / 512) * 512;
    }
}

void kmain(void) {
    hello_ports();
    u64 el;
    __asm__ volatile("mrs %0, CurrentEL" : "=r"(el));
    puts_both("running at EL");
    put_dec((el >> 2) & 3);
    puts_both(" on a Raspberry Pi 3\n");
    read_card();
    list_initrd();
    puts_both("PI3-END\n");
}
