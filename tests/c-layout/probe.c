/*
 * probe.c: the C compiler's view of the ICMP headers, as data the Rust side
 * (src/lib.rs) reads on the target. Compiled by build.rs with the target's
 * mingw-w64 compiler against wrapper.h (windows.h, winternl.h, ipexport.h,
 * icmpapi.h). Every value below is computed by the compiler: sizeof,
 * _Alignof, offsetof, the constants, and each type's class
 * (__builtin_classify_type), signedness, size and alignment, one level into
 * pointers and arrays. The rows are keyed by the item table's names
 * (src/verify/check.rs); the Rust side fails on a row it does not consume
 * and on an observation with no row.
 *
 * Function prototypes: C cannot enumerate a declaration's parameters, so
 * each prototype is written here as Microsoft Learn documents it, the
 * compiler asserts (at compile time) that the header declares exactly that
 * type (calling convention included: stdcall on i686), and the rows
 * describe the documented parameter types.
 */
#include "wrapper.h"
#include <stddef.h>
/* Constants the headers lack read as ICMP_SYS_ABSENT (build.rs makes
 * absent.h from the VALUE rows below). */
#define ICMP_SYS_ABSENT 0x7fffabcdLL
#include "absent.h"

enum { K_INT = 1, K_PTR = 3, K_FN = 4, K_REC = 5, K_ARRAY = 6, K_VOID = 7, K_WRONG = -1 };

/* A type: class, signedness (integers), size, alignment, element count
 * (arrays), element (pointee or array element), parameters (function
 * pointers). */
struct probe_type {
    int kind;
    int is_signed;
    unsigned size, align, count;
    const struct probe_type *elem;
    unsigned nparams;
    const struct probe_type *params[3];
};

struct probe_row {
    const char *item;
    const char *what;
    long long value;
    const struct probe_type *type; /* type rows; NULL for value rows */
};

#define CLS(x) __builtin_classify_type(x)
#define X(T) (*(T *)0)
#define IS_VOID_PTR(x) _Generic((x), void *: 1, const void *: 1, default: 0)

/* Descriptors of type T. The writer names the class; the compiler's class
 * must agree, else the kind is K_WRONG (and the comparison fails). */
#define DESC(...) (&(const struct probe_type){__VA_ARGS__})
#define D_VOID DESC(K_VOID, 0, 0, 0, 0, 0, 0, {0})
#define D_INT(T) DESC(CLS(X(T)) == 1 ? K_INT : K_WRONG, ((T)-1 < (T)0), sizeof(T), _Alignof(T), 0, 0, 0, {0})
#define D_REC(T) \
    DESC((CLS(X(T)) == 12 || CLS(X(T)) == 13) ? K_REC : K_WRONG, 0, sizeof(T), _Alignof(T), 0, 0, 0, {0})
#define D_PTR(T, E) DESC(CLS(X(T)) == 5 ? K_PTR : K_WRONG, 0, sizeof(T), _Alignof(T), 0, E, 0, {0})
#define D_VOID_PTR(T) DESC(IS_VOID_PTR(X(T)) ? K_PTR : K_WRONG, 0, sizeof(T), _Alignof(T), 0, D_VOID, 0, {0})
#define D_PTR_REC(T) D_PTR(T, D_REC(__typeof__(*X(T))))
#define D_PTR_INT(T) D_PTR(T, D_INT(__typeof__(*X(T))))
#define D_ARRAY_INT(T) \
    DESC(!__builtin_types_compatible_p(T, __typeof__(&X(T)[0])) ? K_ARRAY : K_WRONG, 0, sizeof(T), _Alignof(T), \
         sizeof(T) / sizeof(X(T)[0]), D_INT(__typeof__(X(T)[0])), 0, {0})
/* A function pointer of the documented prototype P with three parameters. */
#define D_FN3(T, P, A, B, C) \
    DESC(__builtin_types_compatible_p(T, P) ? K_FN : K_WRONG, 0, sizeof(T), _Alignof(T), 0, 0, 3, {A, B, C})
#define F(S, path) __typeof__(((S *)0)->path)

#define ROW(item, what, v) {item, what, (long long)(v), 0}
#define ROW_T(item, what, D) {item, what, 0, D}
#define TYPE(N, D) ROW(#N, "size", sizeof(N)), ROW(#N, "align", _Alignof(N)), ROW_T(#N, "type", D)
#define STRUCT(S) TYPE(S, D_REC(S))
#define FIELD(S, label, path, D) ROW(#S, "offset " label, offsetof(S, path)), ROW_T(#S, "type " label, D)
#define VALUE(N) ROW(#N, "value", N)
/* IP_OPTION_INFORMATION and ICMP_ECHO_REPLY, and their `*32` twins. */
#define OPTION_INFORMATION(S) \
    STRUCT(S), FIELD(S, "Ttl", Ttl, D_INT(F(S, Ttl))), FIELD(S, "Tos", Tos, D_INT(F(S, Tos))), \
        FIELD(S, "Flags", Flags, D_INT(F(S, Flags))), \
        FIELD(S, "OptionsSize", OptionsSize, D_INT(F(S, OptionsSize))), \
        FIELD(S, "OptionsData", OptionsData, D_PTR_INT(F(S, OptionsData)))
#define ECHO_REPLY(S) \
    STRUCT(S), FIELD(S, "Address", Address, D_INT(F(S, Address))), \
        FIELD(S, "Status", Status, D_INT(F(S, Status))), \
        FIELD(S, "RoundTripTime", RoundTripTime, D_INT(F(S, RoundTripTime))), \
        FIELD(S, "DataSize", DataSize, D_INT(F(S, DataSize))), \
        FIELD(S, "Reserved", Reserved, D_INT(F(S, Reserved))), \
        FIELD(S, "Data", Data, D_VOID_PTR(F(S, Data))), FIELD(S, "Options", Options, D_REC(F(S, Options))), \
        FIELD(S, "Options.OptionsData", Options.OptionsData, D_PTR_INT(F(S, Options.OptionsData)))

/* The documented parameter types (Microsoft Learn, icmpapi.h). */
#define P_HANDLE D_VOID_PTR(HANDLE)
#define P_PVOID D_VOID_PTR(PVOID)
#define P_IPADDR D_INT(IPAddr)
#define P_WORD D_INT(WORD)
#define P_DWORD D_INT(DWORD)
#define P_BOOL D_INT(BOOL)
#define P_OPTIONS D_PTR_REC(PIP_OPTION_INFORMATION)
#define P_SOCKADDR D_PTR_REC(struct sockaddr_in6 *)
#define APC_PROTO VOID(NTAPI *)(PVOID, PIO_STATUS_BLOCK, ULONG)
#define P_APC D_FN3(PIO_APC_ROUTINE, APC_PROTO, P_PVOID, D_PTR_REC(PIO_STATUS_BLOCK), D_INT(ULONG))

/* The documented prototypes, asserted to be the headers'. */
#define PROTO(name, type) \
    _Static_assert(__builtin_types_compatible_p(__typeof__(&name), type), #name ": the header's prototype is not the documented one");
PROTO(IcmpCreateFile, HANDLE(WINAPI *)(VOID))
PROTO(Icmp6CreateFile, HANDLE(WINAPI *)(VOID))
PROTO(IcmpCloseHandle, BOOL(WINAPI *)(HANDLE))
PROTO(IcmpSendEcho, DWORD(WINAPI *)(HANDLE, IPAddr, LPVOID, WORD, PIP_OPTION_INFORMATION, LPVOID, DWORD, DWORD))
PROTO(IcmpSendEcho2, DWORD(WINAPI *)(HANDLE, HANDLE, PIO_APC_ROUTINE, PVOID, IPAddr, LPVOID, WORD,
                                    PIP_OPTION_INFORMATION, LPVOID, DWORD, DWORD))
#ifdef HAVE_IcmpSendEcho2Ex
PROTO(IcmpSendEcho2Ex, DWORD(WINAPI *)(HANDLE, HANDLE, PIO_APC_ROUTINE, PVOID, IPAddr, IPAddr, LPVOID, WORD,
                                      PIP_OPTION_INFORMATION, LPVOID, DWORD, DWORD))
#endif
PROTO(Icmp6SendEcho2, DWORD(WINAPI *)(HANDLE, HANDLE, PIO_APC_ROUTINE, PVOID, struct sockaddr_in6 *,
                                     struct sockaddr_in6 *, LPVOID, WORD, PIP_OPTION_INFORMATION, LPVOID, DWORD,
                                     DWORD))
PROTO(IcmpParseReplies, DWORD(WINAPI *)(LPVOID, DWORD))
PROTO(Icmp6ParseReplies, DWORD(WINAPI *)(LPVOID, DWORD))

#define PARAM(N, i, D) ROW_T(#N, "param " #i, D)

#define PRESENT(N, have) ROW(#N, "present", have)
#ifdef HAVE_IP_OPTION_INFORMATION32
#define HAS_32 1
#else
#define HAS_32 0
#endif

const struct probe_row icmp_sys_probe_rows[] = {
    /* Scalars. */
    TYPE(IPAddr, D_INT(IPAddr)),
    TYPE(IPMask, D_INT(IPMask)),
    TYPE(IP_STATUS, D_INT(IP_STATUS)),
    TYPE(HANDLE, D_VOID_PTR(HANDLE)),
    TYPE(NTSTATUS, D_INT(NTSTATUS)),
    TYPE(ADDRESS_FAMILY, D_INT(ADDRESS_FAMILY)),

    /* Structures. */
    OPTION_INFORMATION(IP_OPTION_INFORMATION),
    ECHO_REPLY(ICMP_ECHO_REPLY),
    TYPE(PIP_OPTION_INFORMATION, D_PTR_REC(PIP_OPTION_INFORMATION)),
    TYPE(PICMP_ECHO_REPLY, D_PTR_REC(PICMP_ECHO_REPLY)),

    PRESENT(IP_OPTION_INFORMATION32, HAS_32),
    PRESENT(PIP_OPTION_INFORMATION32, HAS_32),
    PRESENT(ICMP_ECHO_REPLY32, HAS_32),
    PRESENT(PICMP_ECHO_REPLY32, HAS_32),
#if HAS_32
    OPTION_INFORMATION(IP_OPTION_INFORMATION32),
    ECHO_REPLY(ICMP_ECHO_REPLY32),
    TYPE(PIP_OPTION_INFORMATION32, D_PTR_REC(PIP_OPTION_INFORMATION32)),
    TYPE(PICMP_ECHO_REPLY32, D_PTR_REC(PICMP_ECHO_REPLY32)),
#endif

#ifdef HAVE_IPV6_ADDRESS_EX
    PRESENT(IPV6_ADDRESS_EX, 1),
    STRUCT(IPV6_ADDRESS_EX),
    FIELD(IPV6_ADDRESS_EX, "sin6_port", sin6_port, D_INT(F(IPV6_ADDRESS_EX, sin6_port))),
    FIELD(IPV6_ADDRESS_EX, "sin6_flowinfo", sin6_flowinfo, D_INT(F(IPV6_ADDRESS_EX, sin6_flowinfo))),
    FIELD(IPV6_ADDRESS_EX, "sin6_addr", sin6_addr, D_ARRAY_INT(F(IPV6_ADDRESS_EX, sin6_addr))),
    FIELD(IPV6_ADDRESS_EX, "sin6_scope_id", sin6_scope_id, D_INT(F(IPV6_ADDRESS_EX, sin6_scope_id))),
#else
    PRESENT(IPV6_ADDRESS_EX, 0),
#endif
#ifdef HAVE_PIPV6_ADDRESS_EX
    PRESENT(PIPV6_ADDRESS_EX, 1),
    TYPE(PIPV6_ADDRESS_EX, D_PTR_REC(PIPV6_ADDRESS_EX)),
#else
    PRESENT(PIPV6_ADDRESS_EX, 0),
#endif

#ifdef HAVE_ICMPV6_ECHO_REPLY_LH
    PRESENT(ICMPV6_ECHO_REPLY_LH, 1),
    STRUCT(ICMPV6_ECHO_REPLY_LH),
    FIELD(ICMPV6_ECHO_REPLY_LH, "Address", Address, D_REC(F(ICMPV6_ECHO_REPLY_LH, Address))),
    FIELD(ICMPV6_ECHO_REPLY_LH, "Status", Status, D_INT(F(ICMPV6_ECHO_REPLY_LH, Status))),
    FIELD(ICMPV6_ECHO_REPLY_LH, "RoundTripTime", RoundTripTime, D_INT(F(ICMPV6_ECHO_REPLY_LH, RoundTripTime))),
#else
    PRESENT(ICMPV6_ECHO_REPLY_LH, 0),
#endif
#ifdef HAVE_ICMPV6_ECHO_REPLY
    PRESENT(ICMPV6_ECHO_REPLY, 1),
    TYPE(ICMPV6_ECHO_REPLY, D_REC(ICMPV6_ECHO_REPLY)),
#else
    PRESENT(ICMPV6_ECHO_REPLY, 0),
#endif
#ifdef HAVE_PICMPV6_ECHO_REPLY_LH
    PRESENT(PICMPV6_ECHO_REPLY_LH, 1),
    TYPE(PICMPV6_ECHO_REPLY_LH, D_PTR_REC(PICMPV6_ECHO_REPLY_LH)),
#else
    PRESENT(PICMPV6_ECHO_REPLY_LH, 0),
#endif
#ifdef HAVE_PICMPV6_ECHO_REPLY
    PRESENT(PICMPV6_ECHO_REPLY, 1),
    TYPE(PICMPV6_ECHO_REPLY, D_PTR_REC(PICMPV6_ECHO_REPLY)),
#else
    PRESENT(PICMPV6_ECHO_REPLY, 0),
#endif

    STRUCT(IO_STATUS_BLOCK),
    FIELD(IO_STATUS_BLOCK, "Status", Status, D_INT(F(IO_STATUS_BLOCK, Status))),
    FIELD(IO_STATUS_BLOCK, "Pointer", Pointer, D_VOID_PTR(F(IO_STATUS_BLOCK, Pointer))),
    FIELD(IO_STATUS_BLOCK, "Information", Information, D_INT(F(IO_STATUS_BLOCK, Information))),
    TYPE(PIO_STATUS_BLOCK, D_PTR_REC(PIO_STATUS_BLOCK)),
    TYPE(PIO_APC_ROUTINE, P_APC),
    STRUCT(IN6_ADDR),
    FIELD(IN6_ADDR, "Byte", u.Byte, D_ARRAY_INT(F(IN6_ADDR, u.Byte))),
    FIELD(IN6_ADDR, "Word", u.Word, D_ARRAY_INT(F(IN6_ADDR, u.Word))),
    STRUCT(SOCKADDR_IN6),
    FIELD(SOCKADDR_IN6, "sin6_family", sin6_family, D_INT(F(SOCKADDR_IN6, sin6_family))),
    FIELD(SOCKADDR_IN6, "sin6_port", sin6_port, D_INT(F(SOCKADDR_IN6, sin6_port))),
    FIELD(SOCKADDR_IN6, "sin6_flowinfo", sin6_flowinfo, D_INT(F(SOCKADDR_IN6, sin6_flowinfo))),
    FIELD(SOCKADDR_IN6, "sin6_addr", sin6_addr, D_REC(F(SOCKADDR_IN6, sin6_addr))),
    FIELD(SOCKADDR_IN6, "sin6_scope_id", sin6_scope_id, D_INT(F(SOCKADDR_IN6, sin6_scope_id))),
    TYPE(PSOCKADDR_IN6, D_PTR_REC(PSOCKADDR_IN6)),

    /* Functions: the documented prototypes (asserted above). */
    ROW("IcmpCreateFile", "arity", 0), ROW_T("IcmpCreateFile", "return", P_HANDLE),
    ROW("Icmp6CreateFile", "arity", 0), ROW_T("Icmp6CreateFile", "return", P_HANDLE),
    ROW("IcmpCloseHandle", "arity", 1), ROW_T("IcmpCloseHandle", "return", P_BOOL),
    PARAM(IcmpCloseHandle, 1, P_HANDLE),
    ROW("IcmpSendEcho", "arity", 8), ROW_T("IcmpSendEcho", "return", P_DWORD),
    PARAM(IcmpSendEcho, 1, P_HANDLE), PARAM(IcmpSendEcho, 2, P_IPADDR), PARAM(IcmpSendEcho, 3, P_PVOID),
    PARAM(IcmpSendEcho, 4, P_WORD), PARAM(IcmpSendEcho, 5, P_OPTIONS), PARAM(IcmpSendEcho, 6, P_PVOID),
    PARAM(IcmpSendEcho, 7, P_DWORD), PARAM(IcmpSendEcho, 8, P_DWORD),
    ROW("IcmpSendEcho2", "arity", 11), ROW_T("IcmpSendEcho2", "return", P_DWORD),
    PARAM(IcmpSendEcho2, 1, P_HANDLE), PARAM(IcmpSendEcho2, 2, P_HANDLE), PARAM(IcmpSendEcho2, 3, P_APC),
    PARAM(IcmpSendEcho2, 4, P_PVOID), PARAM(IcmpSendEcho2, 5, P_IPADDR), PARAM(IcmpSendEcho2, 6, P_PVOID),
    PARAM(IcmpSendEcho2, 7, P_WORD), PARAM(IcmpSendEcho2, 8, P_OPTIONS), PARAM(IcmpSendEcho2, 9, P_PVOID),
    PARAM(IcmpSendEcho2, 10, P_DWORD), PARAM(IcmpSendEcho2, 11, P_DWORD),
#ifdef HAVE_IcmpSendEcho2Ex
    PRESENT(IcmpSendEcho2Ex, 1),
    ROW("IcmpSendEcho2Ex", "arity", 12), ROW_T("IcmpSendEcho2Ex", "return", P_DWORD),
    PARAM(IcmpSendEcho2Ex, 1, P_HANDLE), PARAM(IcmpSendEcho2Ex, 2, P_HANDLE), PARAM(IcmpSendEcho2Ex, 3, P_APC),
    PARAM(IcmpSendEcho2Ex, 4, P_PVOID), PARAM(IcmpSendEcho2Ex, 5, P_IPADDR), PARAM(IcmpSendEcho2Ex, 6, P_IPADDR),
    PARAM(IcmpSendEcho2Ex, 7, P_PVOID), PARAM(IcmpSendEcho2Ex, 8, P_WORD), PARAM(IcmpSendEcho2Ex, 9, P_OPTIONS),
    PARAM(IcmpSendEcho2Ex, 10, P_PVOID), PARAM(IcmpSendEcho2Ex, 11, P_DWORD), PARAM(IcmpSendEcho2Ex, 12, P_DWORD),
#else
    PRESENT(IcmpSendEcho2Ex, 0),
#endif
    ROW("Icmp6SendEcho2", "arity", 12), ROW_T("Icmp6SendEcho2", "return", P_DWORD),
    PARAM(Icmp6SendEcho2, 1, P_HANDLE), PARAM(Icmp6SendEcho2, 2, P_HANDLE), PARAM(Icmp6SendEcho2, 3, P_APC),
    PARAM(Icmp6SendEcho2, 4, P_PVOID), PARAM(Icmp6SendEcho2, 5, P_SOCKADDR), PARAM(Icmp6SendEcho2, 6, P_SOCKADDR),
    PARAM(Icmp6SendEcho2, 7, P_PVOID), PARAM(Icmp6SendEcho2, 8, P_WORD), PARAM(Icmp6SendEcho2, 9, P_OPTIONS),
    PARAM(Icmp6SendEcho2, 10, P_PVOID), PARAM(Icmp6SendEcho2, 11, P_DWORD), PARAM(Icmp6SendEcho2, 12, P_DWORD),
    ROW("IcmpParseReplies", "arity", 2), ROW_T("IcmpParseReplies", "return", P_DWORD),
    PARAM(IcmpParseReplies, 1, P_PVOID), PARAM(IcmpParseReplies, 2, P_DWORD),
    ROW("Icmp6ParseReplies", "arity", 2), ROW_T("Icmp6ParseReplies", "return", P_DWORD),
    PARAM(Icmp6ParseReplies, 1, P_PVOID), PARAM(Icmp6ParseReplies, 2, P_DWORD),

    /* Constants. */
    VALUE(IP_STATUS_BASE), VALUE(IP_SUCCESS), VALUE(IP_BUF_TOO_SMALL), VALUE(IP_DEST_NET_UNREACHABLE),
    VALUE(IP_DEST_HOST_UNREACHABLE), VALUE(IP_DEST_PROT_UNREACHABLE), VALUE(IP_DEST_PORT_UNREACHABLE),
    VALUE(IP_NO_RESOURCES), VALUE(IP_BAD_OPTION), VALUE(IP_HW_ERROR), VALUE(IP_PACKET_TOO_BIG),
    VALUE(IP_REQ_TIMED_OUT), VALUE(IP_BAD_REQ), VALUE(IP_BAD_ROUTE), VALUE(IP_TTL_EXPIRED_TRANSIT),
    VALUE(IP_TTL_EXPIRED_REASSEM), VALUE(IP_PARAM_PROBLEM), VALUE(IP_SOURCE_QUENCH), VALUE(IP_OPTION_TOO_BIG),
    VALUE(IP_BAD_DESTINATION), VALUE(IP_DEST_NO_ROUTE), VALUE(IP_DEST_ADDR_UNREACHABLE),
    VALUE(IP_DEST_PROHIBITED), VALUE(IP_HOP_LIMIT_EXCEEDED), VALUE(IP_REASSEMBLY_TIME_EXCEEDED),
    VALUE(IP_PARAMETER_PROBLEM), VALUE(IP_ADDR_DELETED), VALUE(IP_SPEC_MTU_CHANGE), VALUE(IP_MTU_CHANGE),
    VALUE(IP_UNLOAD), VALUE(IP_ADDR_ADDED), VALUE(IP_MEDIA_CONNECT), VALUE(IP_MEDIA_DISCONNECT),
    VALUE(IP_BIND_ADAPTER), VALUE(IP_UNBIND_ADAPTER), VALUE(IP_DEVICE_DOES_NOT_EXIST),
    VALUE(IP_DUPLICATE_ADDRESS), VALUE(IP_INTERFACE_METRIC_CHANGE), VALUE(IP_RECONFIG_SECFLTR),
    VALUE(IP_NEGOTIATING_IPSEC), VALUE(IP_INTERFACE_WOL_CAPABILITY_CHANGE), VALUE(IP_DUPLICATE_IPADD),
    VALUE(IP_DEST_UNREACHABLE), VALUE(IP_TIME_EXCEEDED), VALUE(IP_BAD_HEADER), VALUE(IP_UNRECOGNIZED_NEXT_HEADER),
    VALUE(IP_ICMP_ERROR), VALUE(IP_DEST_SCOPE_MISMATCH), VALUE(IP_GENERAL_FAILURE), VALUE(IP_PENDING),
    VALUE(MAX_IP_STATUS),
    VALUE(IP_OPT_EOL), VALUE(IP_OPT_NOP), VALUE(IP_OPT_RR), VALUE(IP_OPT_TS), VALUE(IP_OPT_SECURITY),
    VALUE(IP_OPT_LSRR), VALUE(IP_OPT_SID), VALUE(IP_OPT_SSRR), VALUE(IP_OPT_ROUTER_ALERT),
    VALUE(IP_FLAG_DF), VALUE(MAX_OPT_SIZE),
#ifdef HAVE_IP_FLAG_REVERSE
    PRESENT(IP_FLAG_REVERSE, 1), VALUE(IP_FLAG_REVERSE),
#else
    PRESENT(IP_FLAG_REVERSE, 0),
#endif
#ifdef HAVE_IP_NO_FURTHER_SENDS
    PRESENT(IP_NO_FURTHER_SENDS, 1),
#else
    PRESENT(IP_NO_FURTHER_SENDS, 0),
#endif
    VALUE(ERROR_SUCCESS), VALUE(ERROR_TOO_MANY_OPEN_FILES), VALUE(ERROR_ACCESS_DENIED), VALUE(ERROR_INVALID_HANDLE), VALUE(ERROR_NOT_ENOUGH_MEMORY),
    VALUE(ERROR_GEN_FAILURE), VALUE(ERROR_NOT_SUPPORTED), VALUE(ERROR_INVALID_PARAMETER),
    VALUE(ERROR_CALL_NOT_IMPLEMENTED), VALUE(ERROR_INSUFFICIENT_BUFFER), VALUE(ERROR_IO_PENDING),
    VALUE(ERROR_INVALID_NETNAME), VALUE(ERROR_NETWORK_UNREACHABLE), VALUE(ERROR_HOST_UNREACHABLE),
    VALUE(ERROR_PROTOCOL_UNREACHABLE), VALUE(ERROR_PORT_UNREACHABLE), VALUE(AF_INET6),
};

const unsigned icmp_sys_probe_count = sizeof icmp_sys_probe_rows / sizeof icmp_sys_probe_rows[0];
