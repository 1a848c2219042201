// SPDX-License-Identifier: GPL-2.0
/*
 * esppeer: the far end of one ESP tunnel (RFC 4303 tunnel mode, inner
 * IPv4, rfc4106(gcm(aes)) with a 128-bit key and a 128-bit ICV, no ESN),
 * in user space, for the benchmark's host-peer mode (selftests/bench/
 * host-peer).
 *
 * In the test guest the XFRM peer shares the gateway's two CPUs, so
 * whatever the gateway spreads onto the other CPU is taken from the peer.
 * This peer runs on the build host instead, with the host's own AES-NI
 * (OpenSSL), at a small fraction of a host core: the gateway in the guest
 * then has its CPUs to itself, as a gateway facing AWS has.
 *
 * Inner packets come and go through a tun device, ESP through a raw IP
 * socket.  It checks what it receives (SPI, ICV, trailer) and counts, but
 * keeps no replay window: it is a load generator's peer, not an IPsec
 * implementation.
 *
 *   esppeer TUN LOCAL REMOTE SPI_OUT KEY_OUT SPI_IN KEY_IN
 *
 * KEY is 0x and 40 hex digits: the AES key, then the 4-byte salt, as
 * ip-xfrm and esptun take it.  SIGTERM or SIGINT prints the counters and
 * exits.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <openssl/evp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#define KEY_LEN		16
#define SALT_LEN	4
#define IV_LEN		8
#define ICV_LEN		16
#define ESP_HDR		8	/* SPI, sequence number */
#define BUF_LEN		65536
#define BURST		64

struct sa {
	uint32_t spi;
	uint8_t salt[SALT_LEN];
	EVP_CIPHER_CTX *ctx;
};

static volatile sig_atomic_t stop;
static unsigned long long n_tx, n_rx, n_bad, n_other;

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void sa_init(struct sa *sa, const char *spi, const char *hex, int enc)
{
	uint8_t key[KEY_LEN + SALT_LEN];
	unsigned int i, b;

	sa->spi = strtoul(spi, NULL, 0);
	if (strncmp(hex, "0x", 2) || strlen(hex) != 2 + 2 * sizeof(key)) {
		fprintf(stderr, "esppeer: a key is 0x and %zu hex digits\n",
			2 * sizeof(key));
		exit(2);
	}
	for (i = 0; i < sizeof(key); i++) {
		if (sscanf(hex + 2 + 2 * i, "%2x", &b) != 1) {
			fprintf(stderr, "esppeer: bad hex in a key\n");
			exit(2);
		}
		key[i] = b;
	}
	memcpy(sa->salt, key + KEY_LEN, SALT_LEN);
	sa->ctx = EVP_CIPHER_CTX_new();
	if (!sa->ctx ||
	    !EVP_CipherInit_ex(sa->ctx, EVP_aes_128_gcm(), NULL, key, NULL, enc))
		die("EVP_CipherInit_ex");
	memset(key, 0, sizeof(key));
}

/* AES-GCM over @in, nonce salt || iv, AAD the ESP header. */
static int gcm(struct sa *sa, const uint8_t *esp, const uint8_t *iv,
	       const uint8_t *in, int len, uint8_t *out, uint8_t *tag, int enc)
{
	uint8_t nonce[SALT_LEN + IV_LEN];
	int n, m;

	memcpy(nonce, sa->salt, SALT_LEN);
	memcpy(nonce + SALT_LEN, iv, IV_LEN);
	if (!EVP_CipherInit_ex(sa->ctx, NULL, NULL, NULL, nonce, enc) ||
	    !EVP_CipherUpdate(sa->ctx, NULL, &n, esp, ESP_HDR) ||
	    !EVP_CipherUpdate(sa->ctx, out, &n, in, len))
		return -1;
	if (!enc && !EVP_CIPHER_CTX_ctrl(sa->ctx, EVP_CTRL_GCM_SET_TAG,
					 ICV_LEN, tag))
		return -1;
	if (EVP_CipherFinal_ex(sa->ctx, out + n, &m) <= 0)
		return -1;
	if (enc && !EVP_CIPHER_CTX_ctrl(sa->ctx, EVP_CTRL_GCM_GET_TAG,
					ICV_LEN, tag))
		return -1;
	return n + m;
}

/* An inner packet from the tun device: encrypt and send. */
static void send_esp(struct sa *sa, uint64_t *seq, int raw,
		     const struct sockaddr_in *to, uint8_t *in, int len)
{
	static uint8_t pkt[BUF_LEN];
	int pad = (4 - (len + 2) % 4) % 4, i, n;
	uint8_t version = in[0] >> 4;
	uint8_t *p = pkt;
	uint64_t s = ++*seq;

	if (len + pad + 2 + ESP_HDR + IV_LEN + ICV_LEN > BUF_LEN)
		return;
	for (i = 0; i < pad; i++)
		in[len++] = i + 1;
	in[len++] = pad;
	/* The host's tun sends IPv6 neighbour discovery too. */
	in[len++] = version == 6 ? IPPROTO_IPV6 : IPPROTO_IPIP;
	*(uint32_t *)p = htonl(sa->spi);
	*(uint32_t *)(p + 4) = htonl((uint32_t)s);
	for (i = 0; i < IV_LEN; i++)
		p[ESP_HDR + i] = s >> (56 - 8 * i);
	n = gcm(sa, p, p + ESP_HDR, in, len, p + ESP_HDR + IV_LEN,
		p + ESP_HDR + IV_LEN + len, 1);
	if (n != len) {
		n_bad++;
		return;
	}
	if (sendto(raw, pkt, ESP_HDR + IV_LEN + len + ICV_LEN, 0,
		   (const struct sockaddr *)to, sizeof(*to)) > 0)
		n_tx++;
}

/* An IP packet from the raw socket: if ours, decrypt and hand it on. */
static void recv_esp(struct sa *sa, int tun, in_addr_t remote,
		     uint8_t *pkt, int len)
{
	static uint8_t out[BUF_LEN];
	const struct iphdr *ip = (const struct iphdr *)pkt;
	uint8_t *esp = pkt + ip->ihl * 4;
	int clen, n, pad;

	len -= ip->ihl * 4;
	if (ip->saddr != remote || len < ESP_HDR + IV_LEN + 2 + ICV_LEN ||
	    ntohl(*(uint32_t *)esp) != sa->spi) {
		n_other++;
		return;
	}
	clen = len - ESP_HDR - IV_LEN - ICV_LEN;
	n = gcm(sa, esp, esp + ESP_HDR, esp + ESP_HDR + IV_LEN, clen, out,
		esp + len - ICV_LEN, 0);
	if (n != clen) {
		n_bad++;
		return;
	}
	pad = out[n - 2];
	if ((out[n - 1] != IPPROTO_IPIP && out[n - 1] != IPPROTO_IPV6) ||
	    pad + 2 > n) {
		n_bad++;
		return;
	}
	if (write(tun, out, n - 2 - pad) > 0)
		n_rx++;
}

static int tun_open(const char *name)
{
	struct ifreq ifr = { .ifr_flags = IFF_TUN | IFF_NO_PI };
	int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK);

	if (fd < 0)
		die("/dev/net/tun");
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0)
		die("TUNSETIFF");
	return fd;
}

int main(int argc, char **argv)
{
	static uint8_t buf[BUF_LEN];
	struct sockaddr_in local = { .sin_family = AF_INET };
	struct sockaddr_in remote = { .sin_family = AF_INET };
	struct sa out, in;
	struct pollfd pfd[2];
	int tun, raw, size = 8 << 20, i, n;
	uint64_t seq = 0;

	if (argc != 8) {
		fprintf(stderr, "usage: esppeer TUN LOCAL REMOTE SPI_OUT KEY_OUT SPI_IN KEY_IN\n");
		return 2;
	}
	if (inet_pton(AF_INET, argv[2], &local.sin_addr) != 1 ||
	    inet_pton(AF_INET, argv[3], &remote.sin_addr) != 1) {
		fprintf(stderr, "esppeer: LOCAL and REMOTE are IPv4 addresses\n");
		return 2;
	}
	sa_init(&out, argv[4], argv[5], 1);
	sa_init(&in, argv[6], argv[7], 0);
	tun = tun_open(argv[1]);
	raw = socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK, IPPROTO_ESP);
	if (raw < 0)
		die("raw socket");
	if (bind(raw, (struct sockaddr *)&local, sizeof(local)) < 0)
		die("bind");
	/* Bursts from a gateway spreading over CPUs come faster than one
	 * wakeup takes them.
	 */
	setsockopt(raw, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size));
	setsockopt(raw, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size));
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	pfd[0] = (struct pollfd){ .fd = tun, .events = POLLIN };
	pfd[1] = (struct pollfd){ .fd = raw, .events = POLLIN };
	printf("esppeer: %s up\n", argv[1]);
	fflush(stdout);
	while (!stop) {
		if (poll(pfd, 2, 1000) < 0) {
			if (errno == EINTR)
				continue;
			die("poll");
		}
		for (i = 0; i < BURST; i++) {
			/* Room for the trailer after the inner packet. */
			n = read(tun, buf, BUF_LEN - 64);
			if (n <= 0)
				break;
			send_esp(&out, &seq, raw, &remote, buf, n);
		}
		for (i = 0; i < BURST; i++) {
			n = recv(raw, buf, BUF_LEN, 0);
			if (n <= 0)
				break;
			recv_esp(&in, tun, remote.sin_addr.s_addr, buf, n);
		}
	}
	fprintf(stderr, "esppeer %s: sent %llu, received %llu, failed %llu, not ours %llu\n",
		argv[1], n_tx, n_rx, n_bad, n_other);
	return 0;
}
