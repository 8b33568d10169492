/*
 * impcore - a program of libimpfit's users: built by t-libimpfit.sh against
 * the installed library, with only `pkg-config --cflags --libs impfit`.
 * It fits R(RC) to a spectrum it made with the library and prints what
 * came back; the test judges it.  Exit 0 when the fit recovered the truth.
 */
#include <math.h>
#include <stdio.h>

#include <impfit.h>

#define NPTS	40

int
main(void)
{
	static const double	 truth[] = { 10.0, 100.0, 1e-5 };
	struct impfit_circuit	*c;
	struct impfit_workspace	*ws;
	struct impfit_options	 o;
	struct impfit_result	 res;
	double			 f[NPTS], zr[NPTS], zi[NPTS];
	char			 err[128];
	int			 i, bad = 0;

	if ((c = impfit_circuit_parse("R(RC)", err, sizeof err)) == NULL) {
		printf("parse: %s\n", err);
		return (1);
	}
	if (impfit_circuit_parse("R(XC)", err, sizeof err) != NULL || err[0] == '\0') {
		printf("parse: R(XC) accepted\n");
		return (1);
	}
	impfit_simulate(c, truth, 0.1, 1e5, NPTS, 1e-3, 42, f, zr, zi);
	if ((ws = impfit_workspace_new(NPTS, impfit_circuit_nparams(c))) == NULL)
		return (1);
	impfit_options_default(&o);
	impfit_run(c, f, zr, zi, NPTS, &o, ws, &res);
	printf("status %s chi_square %.6g\n", impfit_status_name(res.status),
	    res.chi_square);
	for (i = 0; i < res.nparams; i++) {
		printf("%s %.6g (truth %g)\n", impfit_circuit_param_name(c, i),
		    res.params[i], truth[i]);
		if (!(fabs(res.params[i] - truth[i]) <= 0.01 * truth[i]))
			bad = 1;
	}
	impfit_workspace_free(ws);
	impfit_circuit_free(c);
	return (res.status == IMPFIT_OK && res.nparams == 3 && !bad ? 0 : 1);
}
