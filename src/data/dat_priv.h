/*
 * impcore - src/data internals (shared by src/data/dat_*.c only).
 *
 * A reader sees the file as text (dat_read turned UTF-16 into UTF-8 and
 * dropped a byte order mark), walks it by lines (struct dat_cur), finds
 * its table and hands the rows to dat_table, which parses them by column
 * (struct dat_cols) into ctx->rows.  Each row carries a spectrum key;
 * dat_read groups rows by key, in order of first appearance, at the end.
 * Every error goes through dat_fail, which names the line.
 */
#ifndef IMP_DAT_PRIV_H
#define IMP_DAT_PRIV_H

#include <stddef.h>
#include <stdint.h>

#include "impdata.h"

struct dat_line {
	const char	*s;
	size_t		len;		/* without the line end */
	size_t		no;		/* from 1 */
};

/* A cursor over the text, line by line. */
struct dat_cur {
	const char	*p, *end;
	size_t		no;		/* lines returned so far */
};

/* Rows read so far: f, z', z'', key. */
struct dat_rows {
	double		*v;
	size_t		n, cap;
};

struct dat_ctx {
	const char		*text;
	size_t			len;
	const struct dat_limits	*lim;
	size_t			max_rows;	/* all spectra together */
	struct dat_rows		rows;
	double			key;		/* the next implicit key */
	int			explicit_keys;	/* keys are Spectrum_Numbers */
	int			status;
	char			*err;
	size_t			errlen;
};

/* Field separators of a table. */
#define DAT_D_WS	0	/* runs of blanks and tabs */
#define DAT_D_COMMA	1
#define DAT_D_SEMI	2
#define DAT_D_TAB	3	/* each tab; blanks are part of a field */

/* Where a table's values are (column indexes from 0, -1 absent). */
struct dat_cols {
	int	f, re, im, mod, ph;
	int	num;		/* Spectrum_Number: explicit keys */
	int	cyc;		/* cycle number: a change starts a spectrum */
	int	im_neg, ph_neg;	/* -Z'' / -phase columns */
	int	delim;		/* DAT_D_* */
	char	dec;		/* decimal mark: '.' or ',' */
};

/* dat_table flags */
#define DAT_T_SKIPZERO	0x01	/* rows of frequency 0 are another technique's */
#define DAT_T_SWEEPS	0x02	/* a sweep that starts again is a new spectrum */
#define DAT_T_INDENTED	0x04	/* the table ends at a line not starting blank */
#define DAT_T_TEXTSEP	0x08	/* a text line ends a spectrum (else an error) */
#define DAT_T_STOPTAG	0x10	/* the table ends at a line starting '<' */

/* dat_tab.c */
int dat_next(struct dat_cur *c, struct dat_line *l);
void dat_cur_init(struct dat_cur *c, const struct dat_ctx *ctx);
int dat_blank(const struct dat_line *l);
int dat_next_nonblank(struct dat_cur *c, struct dat_line *l);
int dat_line_count(const struct dat_line *l, size_t max, size_t *v);
size_t dat_cur_rows(struct dat_cur *c, size_t n, struct dat_cur *sub);
int dat_starts(const struct dat_line *l, const char *prefix);
int dat_contains(const char *s, size_t len, const char *needle);
int dat_fail(struct dat_ctx *ctx, int status, size_t line, const char *fmt,
    ...) __attribute__((format(printf, 4, 5)));
int dat_split(const struct dat_line *l, int delim, const char **fs,
    size_t *fl, int max);
int dat_guess_delim(const struct dat_line *l, char *dec);
int dat_header(const struct dat_line *l, int delim, struct dat_cols *c);
void dat_cols_fixed(struct dat_cols *c, int f, int re, int im);
int dat_table(struct dat_ctx *ctx, struct dat_cur *cur,
    const struct dat_cols *c, unsigned flags, const char *what);
int dat_push(struct dat_ctx *ctx, double f, double re, double im, double key,
    size_t line);
/* After dat_table: the next rows belong to a new spectrum. */
void dat_new_spectrum(struct dat_ctx *ctx);

/* dat_num.c: a number at s (at most len bytes), decimal mark dec; its
 * length, 0 when s does not start with one. */
size_t dat_num(const char *s, size_t len, char dec, double *v);

/* The readers (one file each, listed in dat_read.c's table). */
int dat_gamry_probe(const char *t, size_t len);
int dat_gamry_read(struct dat_ctx *ctx);
int dat_mpt_probe(const char *t, size_t len);
int dat_mpt_read(struct dat_ctx *ctx);
int dat_zplot_probe(const char *t, size_t len);
int dat_zplot_read(struct dat_ctx *ctx);
int dat_par_probe(const char *t, size_t len);
int dat_par_read(struct dat_ctx *ctx);
int dat_ivium_probe(const char *t, size_t len);
int dat_ivium_read(struct dat_ctx *ctx);
int dat_p00_probe(const char *t, size_t len);
int dat_p00_read(struct dat_ctx *ctx);
int dat_dfr_probe(const char *t, size_t len);
int dat_dfr_read(struct dat_ctx *ctx);
int dat_i2b_probe(const char *t, size_t len);
int dat_i2b_read(struct dat_ctx *ctx);
int dat_pss_probe(const char *t, size_t len);
int dat_pss_read(struct dat_ctx *ctx);
int dat_text_probe_chi(const char *t, size_t len);
int dat_text_probe_parstat(const char *t, size_t len);
int dat_text_probe_autolab(const char *t, size_t len);
int dat_text_probe_powersuite(const char *t, size_t len);
int dat_text_read(struct dat_ctx *ctx);
int dat_text_read_instr(struct dat_ctx *ctx);

#endif /* IMP_DAT_PRIV_H */
