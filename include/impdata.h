/*
 * impcore - impdata.h: spectra read from instrument and text files
 * (src/data), for impfit and the workers' POST /eis-data/file.
 *
 * The readers parse untrusted bytes: whatever the input, dat_read returns
 * a status and a message naming the line and what was expected, never
 * crashes, never reads past len, and allocates at most a bounded multiple
 * of len (the limits bound the points).  No global state, no locks:
 * callable from any thread.  Memory comes from malloc.
 */
#ifndef IMPDATA_H
#define IMPDATA_H

#include <stddef.h>

/* dat_read's answers (the server maps them to HTTP statuses). */
#define DAT_OK		0
#define DAT_UNKNOWN	(-1)	/* no reader recognises the bytes (415) */
#define DAT_BROKEN	(-2)	/* a reader's format, but broken (400) */
#define DAT_TOOBIG	(-3)	/* past a limit (413) */
#define DAT_NOMEM	(-4)	/* out of memory (500) */
#define DAT_BADNAME	(-5)	/* format names no reader (400) */

struct dat_limits {
	size_t	max_points;	/* per spectrum; 0: no limit */
	size_t	max_spectra;	/* 0: no limit */
};

struct dat_spectrum {
	int	n;
	int	number;		/* the file's Spectrum_Number, else the index */
	double	*freq, *zre, *zim;	/* Hz, ohm; Z'' negative: capacitive */
};

struct dat_set {
	unsigned		magic;
#define DAT_SET_MAGIC		0x44415431u
	const char		*format;	/* the reader that read it */
	int			nspec;
	struct dat_spectrum	*spec;
	double			*pool;		/* every spectrum's numbers */
};

/*
 * Read the spectra of the len bytes at buf.  format: a reader's name, or
 * NULL to detect it (content first, then name's extension; name may be
 * NULL).  lim may be NULL.  Returns DAT_OK with *out (dat_free it), or a
 * DAT_* error with a message in err ("line 12: expected a number in
 * column Z'' (Zimag), found 'abc'").
 */
int dat_read(const void *buf, size_t len, const char *name,
    const char *format, const struct dat_limits *lim, struct dat_set **out,
    char *err, size_t errlen);
/* dat_read of a whole file; the path is prefixed to the message. */
int dat_read_file(const char *path, const char *format,
    const struct dat_limits *lim, struct dat_set **out, char *err,
    size_t errlen);
void dat_free(struct dat_set *s);

/* The readers' names in detection order, then NULL (i from 0). */
const char *dat_format_name(int i);
/* One line of what reader i reads ("Gamry .DTA (ZCURVE tables)"). */
const char *dat_format_what(int i);

#endif /* IMPDATA_H */
