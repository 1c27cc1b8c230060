/*
 * faults_int.h - the request pipeline around the router: control plane,
 * fault injection, API usage accounting.
 */
#ifndef SFSIM_FAULTS_INT_H
#define SFSIM_FAULTS_INT_H

#include "sim_int.h"

/*
 * Serves one request: control plane (/_sim/...), faults armed for it, the
 * daily API counter and Sforce-Limit-Info, then sim_route().
 * Thread: the connection's thread; may block (delay faults, long polls).
 */
void sim_serve(struct sim *sim,
               const struct sim_request *req,
               struct sim_response *resp);

/* Handles /_sim/... control requests (control.c). */
void sim_control(struct sim *sim,
                 const struct sim_request *req,
                 struct sim_response *resp);

#endif
