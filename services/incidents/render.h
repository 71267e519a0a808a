/*
 * The incidents' files and pictures (render.c): the register as XLSX and an
 * incident's timeline as SVG, the replies of ListIncidents' file_rpc and of
 * GetTimelinePicture (bulwark.api.v1.HttpBody).
 */
#ifndef BW_INCIDENTS_RENDER_H
#define BW_INCIDENTS_RENDER_H

#include "rpc.h"

/* The most incidents one register holds; more is a 400 asking for a filter. */
#define BW_REGISTER_MAX 10000

bw_rpc_handler_func_t bw_incidents_render_register, bw_incidents_render_timeline;

#endif
