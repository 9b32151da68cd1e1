/* A stand-in for libWeWorkFinanceSdk_C.so with the same C ABI, for tests only.
 *
 * It behaves like WeCom's real binary where that matters to us: Init accepts any non-empty secret;
 * a wrong secret (here: "wrong-secret") shows at GetChatData, which prints WeCom's answer on stderr
 * and returns 10001; DecryptData with a wrong key answers 10008; any encrypt_chat_msg shorter than
 * 13 characters aborts the process (the real SDK's uncaught C++ exception).
 *
 * Its configuration is the file "<this library's path>.conf" (found with dladdr), one key=value a
 * line, read at every call: the SDK child starts with a minimal environment, so no variables.
 *   data=PATH          file of "seq<TAB>chatdata-item-json" lines; GetChatData serves the items after seq
 *   media_dir=PATH     GetMediaData serves the file named sdkfileid, in `chunk` bytes (default 524288);
 *   chunk=N            indexbuf is the decimal offset
 *   stats=PATH         at exit, "sdks=N slices=N media=N destroyed=N" (objects still alive)
 *   abort_on_fetch=1   GetChatData aborts the process
 *   environ=PATH       Init writes the process environment there, one NAME=value a line
 * DecryptData: encrypt_chat_msg = base64(("FAKE:" + plaintext) XOR key, key repeated); a message
 * starting with "HANG" (13 characters or more) sleeps.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

static struct { char data[4096], media_dir[4096], stats[4096], environ[4096]; long chunk; int abort_on_fetch; } conf;

static void load_conf(void) {
    Dl_info info;
    char path[4200], line[4200];
    memset(&conf, 0, sizeof conf);
    conf.chunk = 524288;
    if (!dladdr((void *)load_conf, &info) || !info.dli_fname) return;
    snprintf(path, sizeof path, "%s.conf", info.dli_fname);
    FILE *f = fopen(path, "r");
    if (!f) return;
    while (fgets(line, sizeof line, f)) {
        char *eq = strchr(line, '='), *end = line + strlen(line);
        if (!eq) continue;
        *eq = 0;
        while (end > eq + 1 && (end[-1] == '\n' || end[-1] == '\r')) *--end = 0;
        const char *v = eq + 1;
        if (strcmp(line, "data") == 0) snprintf(conf.data, sizeof conf.data, "%s", v);
        else if (strcmp(line, "media_dir") == 0) snprintf(conf.media_dir, sizeof conf.media_dir, "%s", v);
        else if (strcmp(line, "stats") == 0) snprintf(conf.stats, sizeof conf.stats, "%s", v);
        else if (strcmp(line, "environ") == 0) snprintf(conf.environ, sizeof conf.environ, "%s", v);
        else if (strcmp(line, "chunk") == 0) conf.chunk = atol(v);
        else if (strcmp(line, "abort_on_fetch") == 0) conf.abort_on_fetch = atoi(v) == 1;
    }
    fclose(f);
}

typedef struct WeWorkFinanceSdk_t { int initialised, wrong_secret; } WeWorkFinanceSdk_t;
typedef struct Slice_t { char *buf; int len; } Slice_t;
typedef struct MediaData { char *outindexbuf; int out_len; char *data; int data_len; int is_finish; } MediaData_t;

static int live_sdks, live_slices, live_media, destroyed;

static void write_stats(void) __attribute__((destructor));
static void write_stats(void) {
    load_conf();
    if (!*conf.stats) return;
    FILE *f = fopen(conf.stats, "w");
    if (!f) return;
    fprintf(f, "sdks=%d slices=%d media=%d destroyed=%d\n", live_sdks, live_slices, live_media, destroyed);
    fclose(f);
}

WeWorkFinanceSdk_t *NewSdk(void) { live_sdks++; return calloc(1, sizeof(WeWorkFinanceSdk_t)); }
void DestroySdk(WeWorkFinanceSdk_t *sdk) { if (sdk) { live_sdks--; destroyed++; free(sdk); } }

int Init(WeWorkFinanceSdk_t *sdk, const char *corpid, const char *secret) {
    if (!sdk || !corpid || !secret || !*corpid || !*secret) return 10000;
    load_conf();
    if (*conf.environ) {
        FILE *f = fopen(conf.environ, "w");
        for (char **e = environ; f && *e; e++) fprintf(f, "%s\n", *e);
        if (f) fclose(f);
    }
    sdk->wrong_secret = strcmp(secret, "wrong-secret") == 0;  /* the real Init never checks the secret */
    sdk->initialised = 1;
    return 0;
}

Slice_t *NewSlice(void) { live_slices++; return calloc(1, sizeof(Slice_t)); }
void FreeSlice(Slice_t *s) { if (s) { live_slices--; free(s->buf); free(s); } }
char *GetContentFromSlice(Slice_t *s) { return s ? s->buf : NULL; }
int GetSliceLen(Slice_t *s) { return s ? s->len : 0; }

static void slice_put(Slice_t *s, const char *data, int len) {
    free(s->buf);
    s->buf = malloc(len + 1);
    memcpy(s->buf, data, len);
    s->buf[len] = 0;
    s->len = len;
}

int GetChatData(WeWorkFinanceSdk_t *sdk, unsigned long long seq, unsigned int limit, const char *proxy,
                const char *passwd, int timeout, Slice_t *out) {
    (void)proxy; (void)passwd; (void)timeout;
    if (!sdk || !sdk->initialised || !out || limit > 1000) return 10000;
    load_conf();
    if (conf.abort_on_fetch) abort();
    if (sdk->wrong_secret) {  /* the token request fails; the real SDK prints WeCom's answer */
        fprintf(stderr, "WeWorkFinanceSdk:access:{\"errcode\": 40001, \"errmsg\": \"invalid credential\"}\n");
        return 10001;
    }
    FILE *f = *conf.data ? fopen(conf.data, "r") : NULL;
    size_t cap = 64, len = 0;
    char *json = malloc(cap), *line = NULL;
    size_t line_cap = 0;
    ssize_t n;
    unsigned int served = 0;
    len += sprintf(json, "{\"errcode\":0,\"errmsg\":\"ok\",\"chatdata\":[");
    while (f && served < limit && (n = getline(&line, &line_cap, f)) > 0) {
        char *tab = strchr(line, '\t');
        if (!tab || strtoull(line, NULL, 10) <= seq) continue;
        if (line[n - 1] == '\n') line[--n] = 0;
        size_t item = strlen(tab + 1);
        while (len + item + 8 > cap) { cap *= 2; json = realloc(json, cap); }
        if (served++) json[len++] = ',';
        memcpy(json + len, tab + 1, item);
        len += item;
    }
    if (f) fclose(f);
    free(line);
    while (len + 4 > cap) { cap *= 2; json = realloc(json, cap); }
    len += sprintf(json + len, "]}");
    slice_put(out, json, (int)len);
    free(json);
    return 0;
}

static int b64_value(char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

static int b64_decode(const char *in, unsigned char *out) {
    int len = 0, bits = 0, acc = 0;
    for (; *in && *in != '='; in++) {
        int v = b64_value(*in);
        if (v < 0) return -1;
        acc = (acc << 6) | v;
        bits += 6;
        if (bits >= 8) { bits -= 8; out[len++] = (unsigned char)((acc >> bits) & 0xff); }
    }
    return len;
}

int DecryptData(const char *key, const char *msg, Slice_t *out) {
    if (!key || !msg || !out || !*key) return 10000;
    if (strlen(msg) < 13) abort();  /* as the real SDK does */
    if (strncmp(msg, "HANG", 4) == 0) sleep(3600);
    unsigned char *plain = malloc(strlen(msg) + 1);
    int len = b64_decode(msg, plain), keylen = (int)strlen(key);
    if (len < 5) { free(plain); return 10008; }
    for (int i = 0; i < len; i++) plain[i] ^= (unsigned char)key[i % keylen];
    if (memcmp(plain, "FAKE:", 5) != 0) { free(plain); return 10008; }
    slice_put(out, (char *)plain + 5, len - 5);
    free(plain);
    return 0;
}

MediaData_t *NewMediaData(void) { live_media++; return calloc(1, sizeof(MediaData_t)); }
void FreeMediaData(MediaData_t *m) { if (m) { live_media--; free(m->outindexbuf); free(m->data); free(m); } }
char *GetOutIndexBuf(MediaData_t *m) { return m->outindexbuf; }
char *GetData(MediaData_t *m) { return m->data; }
int GetIndexLen(MediaData_t *m) { return m->out_len; }
int GetDataLen(MediaData_t *m) { return m->data_len; }
int IsMediaDataFinish(MediaData_t *m) { return m->is_finish; }

int GetMediaData(WeWorkFinanceSdk_t *sdk, const char *indexbuf, const char *sdkfileid, const char *proxy,
                 const char *passwd, int timeout, MediaData_t *m) {
    (void)proxy; (void)passwd; (void)timeout;
    load_conf();
    const char *dir = conf.media_dir;
    if (!sdk || !sdk->initialised || !m || !sdkfileid || !*dir || strchr(sdkfileid, '/')) return 10000;
    char path[8300];
    snprintf(path, sizeof path, "%s/%s", dir, sdkfileid);
    FILE *f = fopen(path, "rb");
    if (!f) return 10005;
    long chunk = conf.chunk;
    long offset = (indexbuf && *indexbuf) ? atol(indexbuf) : 0;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, offset, SEEK_SET);
    free(m->data);
    free(m->outindexbuf);
    m->data = malloc(chunk > 0 ? chunk : 1);
    m->data_len = (int)fread(m->data, 1, chunk, f);
    fclose(f);
    m->outindexbuf = malloc(32);
    m->out_len = snprintf(m->outindexbuf, 32, "%ld", offset + m->data_len);
    m->is_finish = offset + m->data_len >= size;
    return 0;
}
