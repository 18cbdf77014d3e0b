/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "bridge.h"

#include <dirent.h>
#include <libmnl/libmnl.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>

#include "util.h"
#include "validate.h"

/* libmnl is loaded (dlopen) by the first call that talks to rtnetlink: the
 * hook's calls that touch no bridge (started, release, stopped, reconnect)
 * then map one library less. */
static struct {
        void *handle;
        __typeof__(mnl_socket_open2) *socket_open2;
        __typeof__(mnl_socket_close) *socket_close;
        __typeof__(mnl_socket_setsockopt) *socket_setsockopt;
        __typeof__(mnl_socket_bind) *socket_bind;
        __typeof__(mnl_socket_get_portid) *socket_get_portid;
        __typeof__(mnl_socket_sendto) *socket_sendto;
        __typeof__(mnl_socket_recvfrom) *socket_recvfrom;
        __typeof__(mnl_cb_run2) *cb_run2;
        __typeof__(mnl_nlmsg_put_header) *nlmsg_put_header;
        __typeof__(mnl_nlmsg_put_extra_header) *nlmsg_put_extra_header;
        __typeof__(mnl_nlmsg_get_payload) *nlmsg_get_payload;
        __typeof__(mnl_nlmsg_get_payload_len) *nlmsg_get_payload_len;
        __typeof__(mnl_nlmsg_get_payload_offset) *nlmsg_get_payload_offset;
        __typeof__(mnl_nlmsg_get_payload_tail) *nlmsg_get_payload_tail;
        __typeof__(mnl_attr_ok) *attr_ok;
        __typeof__(mnl_attr_next) *attr_next;
        __typeof__(mnl_attr_get_type) *attr_get_type;
        __typeof__(mnl_attr_type_valid) *attr_type_valid;
        __typeof__(mnl_attr_validate) *attr_validate;
        __typeof__(mnl_attr_get_str) *attr_get_str;
        __typeof__(mnl_attr_get_u32) *attr_get_u32;
        __typeof__(mnl_attr_parse) *attr_parse;
        __typeof__(mnl_attr_parse_nested) *attr_parse_nested;
        __typeof__(mnl_attr_put_strz) *attr_put_strz;
        __typeof__(mnl_attr_put_u32) *attr_put_u32;
        __typeof__(mnl_attr_nest_start) *attr_nest_start;
        __typeof__(mnl_attr_nest_end) *attr_nest_end;
} mnl;

static int mnl_load(void)
{
        if (mnl.handle)
                return 0;
#define SYM(field, name) { name, (void **)&mnl.field }
        static const struct dl_sym syms[] = {
                SYM(socket_open2, "mnl_socket_open2"),
                SYM(socket_close, "mnl_socket_close"),
                SYM(socket_setsockopt, "mnl_socket_setsockopt"),
                SYM(socket_bind, "mnl_socket_bind"),
                SYM(socket_get_portid, "mnl_socket_get_portid"),
                SYM(socket_sendto, "mnl_socket_sendto"),
                SYM(socket_recvfrom, "mnl_socket_recvfrom"),
                SYM(cb_run2, "mnl_cb_run2"),
                SYM(nlmsg_put_header, "mnl_nlmsg_put_header"),
                SYM(nlmsg_put_extra_header, "mnl_nlmsg_put_extra_header"),
                SYM(nlmsg_get_payload, "mnl_nlmsg_get_payload"),
                SYM(nlmsg_get_payload_len, "mnl_nlmsg_get_payload_len"),
                SYM(nlmsg_get_payload_offset, "mnl_nlmsg_get_payload_offset"),
                SYM(nlmsg_get_payload_tail, "mnl_nlmsg_get_payload_tail"),
                SYM(attr_ok, "mnl_attr_ok"),
                SYM(attr_next, "mnl_attr_next"),
                SYM(attr_get_type, "mnl_attr_get_type"),
                SYM(attr_type_valid, "mnl_attr_type_valid"),
                SYM(attr_validate, "mnl_attr_validate"),
                SYM(attr_get_str, "mnl_attr_get_str"),
                SYM(attr_get_u32, "mnl_attr_get_u32"),
                SYM(attr_parse, "mnl_attr_parse"),
                SYM(attr_parse_nested, "mnl_attr_parse_nested"),
                SYM(attr_put_strz, "mnl_attr_put_strz"),
                SYM(attr_put_u32, "mnl_attr_put_u32"),
                SYM(attr_nest_start, "mnl_attr_nest_start"),
                SYM(attr_nest_end, "mnl_attr_nest_end"),
                {},
        };
#undef SYM
        return dl_open_syms("libmnl.so.0", syms, &mnl.handle);
}

const char *bridge_strerror(int r)
{
        switch (r) {
        case -ELIBACC: return "libmnl (libmnl.so.0) cannot be loaded: install libmnl0 (Debian, Ubuntu) or libmnl (Fedora, RHEL)";
        case -ELIBBAD: return "libmnl.so.0 lacks a function migkit needs: install a newer libmnl";
        default: return strerror(-r);
        }
}

/* A link with all its attributes (stats are filtered out) fits many times. */
#define RECV_SIZE 32768

/* Our requests carry a name and a few small attributes. */
#define REQUEST_SIZE 512

static void mnl_socket_closep(struct mnl_socket **nl)
{
        if (*nl)
                mnl.socket_close(*nl);
}
#define _cleanup_mnl_ _cleanup_(mnl_socket_closep)

/* One request in flight: what the data callback fills, and how it ended. */
struct nl_request {
        mnl_cb_t data_cb;
        void *data;
        bool acked;     /* the kernel's NLMSG_ERROR (ack or error) arrived */
        int error;      /* its error, 0 or -errno */
        char *ext_msg;  /* its NLMSGERR_ATTR_MSG, if any */
};

static void nl_request_done(struct nl_request *req)
{
        free(req->ext_msg);
}

static int data_cb(const struct nlmsghdr *nlh, void *userdata)
{
        struct nl_request *req = userdata;

        return req->data_cb ? req->data_cb(nlh, req->data) : MNL_CB_OK;
}

/* Copies the extended ack message, if the kernel attached one. */
static void parse_ext_ack(const struct nlmsghdr *nlh, const struct nlmsgerr *err, struct nl_request *req)
{
        const struct nlattr *attr;
        size_t off = sizeof(*err);

        if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
                return;
        /* Unless NETLINK_CAP_ACK took effect, our request is echoed before the TLVs. */
        if (!(nlh->nlmsg_flags & NLM_F_CAPPED)) {
                if (err->msg.nlmsg_len < sizeof(struct nlmsghdr))
                        return;
                off += err->msg.nlmsg_len - sizeof(struct nlmsghdr);
        }
        if (off > mnl.nlmsg_get_payload_len(nlh))
                return;

        for (attr = mnl.nlmsg_get_payload_offset(nlh, off);
             mnl.attr_ok(attr, (int)((char *)mnl.nlmsg_get_payload_tail(nlh) - (char *)attr));
             attr = mnl.attr_next(attr)) {
                if (mnl.attr_get_type(attr) != NLMSGERR_ATTR_MSG)
                        continue;
                if (mnl.attr_validate(attr, MNL_TYPE_NUL_STRING) < 0)
                        return;
                free(req->ext_msg);
                req->ext_msg = strdup(mnl.attr_get_str(attr));  /* NULL on ENOMEM: the errno still goes out */
                return;
        }
}

static int error_cb(const struct nlmsghdr *nlh, void *userdata)
{
        struct nl_request *req = userdata;
        const struct nlmsgerr *err = mnl.nlmsg_get_payload(nlh);

        if (mnl.nlmsg_get_payload_len(nlh) < sizeof(*err)) {
                errno = EBADMSG;
                return MNL_CB_ERROR;
        }
        req->acked = true;
        req->error = err->error <= 0 ? err->error : -err->error;
        if (req->error < 0)
                parse_ext_ack(nlh, err, req);
        return MNL_CB_STOP;
}

static int done_cb(const struct nlmsghdr *nlh, void *userdata)
{
        return MNL_CB_STOP;
}

/* Sends the request in nlh (a fresh socket each time, so that concurrent
 * hooks and library users never share sequence numbers) and reads replies
 * until the kernel's ack. Replies other than the ack go to cb. Returns the
 * kernel's answer (0 or -errno) and, on error, its extended ack message in
 * *ext_err when ext_err is not NULL. */
static int nl_transact(struct nlmsghdr *nlh, mnl_cb_t cb, void *data, char **ext_err)
{
        mnl_cb_t ctl_cbs[NLMSG_MIN_TYPE] = {
                [NLMSG_ERROR] = error_cb,
                [NLMSG_DONE] = done_cb,
        };
        _cleanup_mnl_ struct mnl_socket *nl = NULL;
        _cleanup_free_ char *buf = NULL;
        _cleanup_(nl_request_done) struct nl_request req = { .data_cb = cb, .data = data };
        const size_t buf_size = RECV_SIZE;
        unsigned portid, seq;
        int one = 1, r;

        nl = mnl.socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
        if (!nl)
                return -errno;
        /* Both are best effort: older kernels lack them (EXT_ACK came in 4.12). */
        if (mnl.socket_setsockopt(nl, NETLINK_EXT_ACK, &one, sizeof(one)) < 0 && errno != ENOPROTOOPT)
                return -errno;
        if (mnl.socket_setsockopt(nl, NETLINK_CAP_ACK, &one, sizeof(one)) < 0 && errno != ENOPROTOOPT)
                return -errno;
        if (mnl.socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0)
                return -errno;
        portid = mnl.socket_get_portid(nl);

        buf = malloc(buf_size);
        if (!buf)
                return -ENOMEM;

        seq = (unsigned) time(NULL);
        if (seq == 0)
                seq = 1;   /* 0 would turn off mnl_cb_run's sequence check */
        nlh->nlmsg_seq = seq;
        nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;

        if (mnl.socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
                return -errno;

        while (!req.acked) {
                ssize_t n = mnl.socket_recvfrom(nl, buf, buf_size);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                /* Checks portid and sequence number of every message. */
                r = mnl.cb_run2(buf, (size_t) n, seq, portid, data_cb, &req, ctl_cbs, ARRAY_SIZE(ctl_cbs));
                if (r < 0)
                        return errno > 0 ? -errno : -EPROTO;
                if (r == MNL_CB_STOP && !req.acked)
                        return -EPROTO;   /* NLMSG_DONE without an ack */
        }

        if (req.error < 0 && ext_err && req.ext_msg)
                *ext_err = TAKE_PTR(req.ext_msg);
        return req.error;
}

static int name_check(const char *name)
{
        if (!name || name[0] == '\0' || strnlen(name, IFNAMSIZ) >= IFNAMSIZ)
                return -EINVAL;
        return 0;
}

static struct nlmsghdr *put_link_header(char *buf, unsigned type, struct ifinfomsg **ret)
{
        struct nlmsghdr *nlh = mnl.nlmsg_put_header(buf);
        struct ifinfomsg *ifm;

        nlh->nlmsg_type = type;
        ifm = mnl.nlmsg_put_extra_header(nlh, sizeof(*ifm));
        ifm->ifi_family = AF_UNSPEC;
        if (ret)
                *ret = ifm;
        return nlh;
}

struct link_reply {
        struct link_info *info;
        bool found;
};

static int linkinfo_attr_cb(const struct nlattr *attr, void *data)
{
        const struct nlattr **tb = data;
        unsigned type = mnl.attr_get_type(attr);

        if (mnl.attr_type_valid(attr, IFLA_INFO_MAX) < 0)
                return MNL_CB_OK;   /* newer than our headers: skip */
        if (type == IFLA_INFO_KIND && mnl.attr_validate(attr, MNL_TYPE_STRING) < 0)
                return MNL_CB_ERROR;
        tb[type] = attr;
        return MNL_CB_OK;
}

static int link_attr_cb(const struct nlattr *attr, void *data)
{
        const struct nlattr **tb = data;
        unsigned type = mnl.attr_get_type(attr);

        if (mnl.attr_type_valid(attr, IFLA_MAX) < 0)
                return MNL_CB_OK;
        switch (type) {
        case IFLA_MTU:
                if (mnl.attr_validate(attr, MNL_TYPE_U32) < 0)
                        return MNL_CB_ERROR;
                break;
        case IFLA_LINKINFO:
                if (mnl.attr_validate(attr, MNL_TYPE_NESTED) < 0)
                        return MNL_CB_ERROR;
                break;
        }
        tb[type] = attr;
        return MNL_CB_OK;
}

static int link_reply_cb(const struct nlmsghdr *nlh, void *data)
{
        struct link_reply *reply = data;
        const struct nlattr *tb[IFLA_MAX + 1] = {};
        const struct ifinfomsg *ifm;

        if (nlh->nlmsg_type != RTM_NEWLINK)
                return MNL_CB_OK;
        if (mnl.nlmsg_get_payload_len(nlh) < sizeof(*ifm)) {
                errno = EBADMSG;
                return MNL_CB_ERROR;
        }
        ifm = mnl.nlmsg_get_payload(nlh);
        if (mnl.attr_parse(nlh, sizeof(*ifm), link_attr_cb, tb) < 0) {
                errno = EBADMSG;
                return MNL_CB_ERROR;
        }

        *reply->info = (struct link_info) {
                .ifindex = (unsigned) ifm->ifi_index,
                .mtu = tb[IFLA_MTU] ? mnl.attr_get_u32(tb[IFLA_MTU]) : 0,
                .up = ifm->ifi_flags & IFF_UP,
        };
        if (tb[IFLA_LINKINFO]) {
                const struct nlattr *info[IFLA_INFO_MAX + 1] = {};
                if (mnl.attr_parse_nested(tb[IFLA_LINKINFO], linkinfo_attr_cb, info) < 0) {
                        errno = EBADMSG;
                        return MNL_CB_ERROR;
                }
                reply->info->is_bridge = info[IFLA_INFO_KIND] &&
                        streq(mnl.attr_get_str(info[IFLA_INFO_KIND]), "bridge");
        }
        reply->found = true;
        return MNL_CB_OK;
}

int link_get(const char *name, struct link_info *ret)
{
        _Alignas(struct nlmsghdr) char buf[REQUEST_SIZE];
        struct link_info info = {};
        struct link_reply reply = { .info = &info };
        struct nlmsghdr *nlh;
        int r;

        r = name_check(name);
        if (r < 0)
                return r;
        r = mnl_load();
        if (r < 0)
                return r;

        nlh = put_link_header(buf, RTM_GETLINK, NULL);
        mnl.attr_put_strz(nlh, IFLA_IFNAME, name);
        mnl.attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);  /* smaller reply; ignored by old kernels */

        r = nl_transact(nlh, link_reply_cb, &reply, NULL);
        if (r < 0)
                return r;
        if (!reply.found)
                return -EPROTO;
        if (ret)
                *ret = info;
        return 0;
}

int link_is_bridge(const char *name)
{
        struct ethtool_drvinfo info = { .cmd = ETHTOOL_GDRVINFO };
        struct ifreq ifr = {};
        int r = name_check(name);
        if (r < 0)
                return r;
        _cleanup_close_ int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        memcpy(ifr.ifr_name, name, strlen(name) + 1);
        ifr.ifr_data = (char *)&info;
        if (ioctl(fd, SIOCETHTOOL, &ifr) < 0)
                return -errno;
        info.driver[sizeof(info.driver) - 1] = 0;
        return streq(info.driver, "bridge");
}

int bridge_create(const char *name, unsigned mtu, char **ext_err)
{
        _Alignas(struct nlmsghdr) char buf[REQUEST_SIZE];
        struct ifinfomsg *ifm;
        struct nlattr *linkinfo;
        struct nlmsghdr *nlh;
        int r;

        if (ext_err)
                *ext_err = NULL;
        r = name_check(name);
        if (r < 0)
                return r;
        r = mnl_load();
        if (r < 0)
                return r;

        nlh = put_link_header(buf, RTM_NEWLINK, &ifm);
        nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
        /* Up in the same request: the kernel applies the flags before it
         * drops the RTNL lock, so whoever sees the bridge sees it up. */
        ifm->ifi_flags = IFF_UP;
        ifm->ifi_change = IFF_UP;
        mnl.attr_put_strz(nlh, IFLA_IFNAME, name);
        mnl.attr_put_u32(nlh, IFLA_MTU, mtu);
        linkinfo = mnl.attr_nest_start(nlh, IFLA_LINKINFO);
        mnl.attr_put_strz(nlh, IFLA_INFO_KIND, "bridge");
        mnl.attr_nest_end(nlh, linkinfo);

        r = nl_transact(nlh, NULL, NULL, ext_err);
        if (r == -EEXIST) {
                if (ext_err) {
                        free(*ext_err);
                        *ext_err = NULL;
                }
                return 0;
        }
        if (r < 0)
                return r;
        return 1;
}

int bridge_delete(const char *name)
{
        return bridge_delete_index(name, 0);
}

/* ifindex 0: whatever index the name has now. */
int bridge_delete_index(const char *name, unsigned ifindex)
{
        _Alignas(struct nlmsghdr) char buf[REQUEST_SIZE];
        struct link_info info;
        struct ifinfomsg *ifm;
        struct nlmsghdr *nlh;
        int r;

        r = link_get(name, &info);
        if (r == -ENODEV)
                return 0;
        if (r < 0)
                return r;
        if (ifindex && info.ifindex != ifindex)
                return -ESTALE;
        if (!info.is_bridge)
                return -EMEDIUMTYPE;

        /* By index, not by name: if the bridge went away and something else
         * took its name meanwhile, we must not delete that. */
        nlh = put_link_header(buf, RTM_DELLINK, &ifm);
        ifm->ifi_index = (int) info.ifindex;

        r = nl_transact(nlh, NULL, NULL, NULL);
        if (r == -ENODEV)
                return 0;
        if (r < 0)
                return r;
        return 1;
}

int bridge_ports(const char *sysfs_root, const char *bridge, unsigned ifindex, char ***ret_ports)
{
        _cleanup_free_ char *base = NULL, *path = NULL, *text = NULL;
        _cleanup_strv_ char **ports = calloc(1, sizeof(char *));
        struct dirent *de;
        int n = 0;

        if (ret_ports)
                *ret_ports = NULL;
        if (!ports)
                return -ENOMEM;
        if (ifname_invalid_reason(bridge))
                return -EINVAL;
        if (asprintf(&base, "%s/class/net/%s", sysfs_root, bridge) < 0) {
                base = NULL;
                return -ENOMEM;
        }
        if (!(path = path_join(base, "ifindex")))
                return -ENOMEM;
        ssize_t len = read_full_file(path, 64, &text);
        if (len < 0)
                return (int)len;
        char *end;
        errno = 0;
        unsigned long idx = strtoul(text, &end, 10);
        if (errno || end == text || (*end && *end != '\n'))
                return -EBADMSG;
        if (idx != ifindex)
                return -ESTALE;
        free(path);
        if (!(path = path_join(base, "brif")))
                return -ENOMEM;
        DIR *d = opendir(path);
        if (!d)
                return -errno;
        while ((errno = 0, de = readdir(d))) {
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                if (strv_push(&ports, de->d_name) < 0) {
                        closedir(d);
                        return -ENOMEM;
                }
                n++;
        }
        int r = errno ? -errno : 0;
        closedir(d);
        if (r < 0)
                return r;
        if (ret_ports)
                *ret_ports = TAKE_PTR(ports);
        return n;
}
