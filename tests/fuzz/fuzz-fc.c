/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target: the FC source-name parser (lib/fc.c): a block disk's
 * <source dev> as the domain XML names it (/dev/disk/by-path/...-fc-0x<wwpn>
 * -lun-<n>, /dev/disk/by-id/wwn-/scsi-/dm-uuid-mpath-/dm-name-,
 * /dev/mapper/<name>), plus the WWPN and LUN parsers on the raw input.
 * Oracles: what a successful parse returns is safe to hand to multipathd
 * and to put in a path (fc_name_is_valid), and LUNs survive the round trip
 * through udev's by-path spelling (fc_format_lun). */
#include <inttypes.h>
#include <stdint.h>

#include "fc.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        _cleanup_free_ char *s = strndup((const char *)data, size);
        struct fc_source src;
        uint64_t v, v2;
        char buf[64];

        if (!s)
                return 0;

        int r = fc_parse_source(s, &src);
        if (r == 0) {
                switch (src.kind) {
                case FC_SRC_NONE:
                        if (src.wwid[0] || src.map[0])
                                abort();
                        break;
                case FC_SRC_PATH:
                        fc_format_lun(src.lun, buf, sizeof(buf));
                        if (src.lun < (1ULL << 32) && (fc_parse_lun(buf, &v2) < 0 || v2 != src.lun)) {
                                fprintf(stderr, "fuzz-fc: LUN %" PRIu64 " formats as '%s', which does not parse back\n", src.lun, buf);
                                abort();
                        }
                        break;
                case FC_SRC_WWID:
                        if (!fc_name_is_valid(src.wwid) || src.map[0])
                                abort();
                        break;
                case FC_SRC_MAP:
                        if (!fc_name_is_valid(src.map) || (src.wwid[0] && !fc_name_is_valid(src.wwid)))
                                abort();
                        break;
                }
        } else if (r != -EINVAL)
                abort();

        if (fc_parse_wwpn(s, &v) == 0) {
                snprintf(buf, sizeof(buf), "0x%016" PRIx64, v);
                if (fc_parse_wwpn(buf, &v2) < 0 || v2 != v)
                        abort();
        }
        if (fc_parse_lun(s, &v) == 0 && v < (1ULL << 32)) {
                fc_format_lun(v, buf, sizeof(buf));
                if (fc_parse_lun(buf, &v2) < 0 || v2 != v) {
                        fprintf(stderr, "fuzz-fc: LUN '%s' = %" PRIu64 " formats as '%s', which does not parse back\n", s, v, buf);
                        abort();
                }
        }
        (void)fc_name_is_valid(s);
        return 0;
}
