/*
 * impcore - route jansson, libevent and libcurl allocations through imp_*.
 *
 * Call hooks_install() once per process, in the child right after fork,
 * before those libraries allocate anything of their own (the master's
 * children do it in mst_child.c).
 */
#ifndef IMP_DAEMON_HOOKS_H
#define IMP_DAEMON_HOOKS_H

void hooks_install(void);

#endif /* IMP_DAEMON_HOOKS_H */
