/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Two libxml2 tree helpers for the modules that read parts of a domain
 * document domxml parsed, or one libvirt gave them (blockmig, lundisc,
 * preflight, secrets, swapvol). The domxml module has its own,
 * namespace-aware ones. */
#pragma once

#include <libxml/tree.h>
#include <stdlib.h>
#include <string.h>

/* The first child element of n called name, or NULL (n may be NULL). */
static inline xmlNodePtr xml_child(const void *n, const char *name)
{
        for (xmlNodePtr c = n ? ((const xmlNode *)n)->children : NULL; c; c = c->next)
                if (c->type == XML_ELEMENT_NODE && xmlStrEqual(c->name, (const xmlChar *)name))
                        return c;
        return NULL;
}

/* Attribute name of n, malloc'ed; NULL when n is NULL, the attribute is
 * absent or empty, or memory ran out. */
static inline char *xml_prop(const void *n, const char *name)
{
        xmlChar *v = n ? xmlGetProp((const xmlNode *)n, (const xmlChar *)name) : NULL;
        char *s = v && *v ? strdup((const char *)v) : NULL;
        xmlFree(v);
        return s;
}
