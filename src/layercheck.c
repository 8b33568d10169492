/*
 * impcore - the layers' link check.
 *
 * Each layer (src/lib, prof, state, net, render, daemon) links one program
 * from this empty main: the layer's whole archive (--whole-archive, so every
 * object is in, used or not) and only the layers below it.  A call from a
 * layer into one above it is then an undefined reference, and `make` fails
 * there, not in a review.
 */
int main(void);

int
main(void)
{
	return (0);
}
