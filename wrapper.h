/*
 * wrapper.h: the C side of the `bindgen` feature (see build.rs).
 *
 * Includes the Windows headers that declare the ICMP Helper API, in the order
 * the SDK needs, so that bindgen sees exactly what a C caller sees:
 * windows.h, winsock2.h/ws2ipdef.h (SOCKADDR_IN6, AF_INET6), winternl.h
 * (IO_STATUS_BLOCK, PIO_APC_ROUTINE), ipexport.h and icmpapi.h.
 */
#ifndef ICMP_SYS_WRAPPER_H
#define ICMP_SYS_WRAPPER_H

#include <winsock2.h>
#include <ws2ipdef.h>
#include <windows.h>
#include <winternl.h>

/*
 * icmpapi.h declares ApcRoutine as PIO_APC_ROUTINE only when
 * PIO_APC_ROUTINE_DEFINED is set (wdm.h and some winternl.h copies set it),
 * else as FARPROC. The crate binds the PIO_APC_ROUTINE form.
 */
#ifndef PIO_APC_ROUTINE_DEFINED
#define PIO_APC_ROUTINE_DEFINED 1
#endif

#include <ipexport.h>
#include <icmpapi.h>

/*
 * Wine's own winnt.h lacks STATUS_INVALID_PARAMETER (mingw-w64's winnt.h
 * has it); Wine's ntstatus.h has it. A system header, so its redefinitions
 * of winnt.h's other STATUS_ values are not warned about.
 */
#ifndef STATUS_INVALID_PARAMETER
#include <ntstatus.h>
#endif

/*
 * Values that are function-like macros or casts in the headers
 * (ERROR_* use __MSABI_LONG, INVALID_HANDLE_VALUE is a pointer cast), made
 * visible to bindgen as evaluated constants. Prefix ICMP_SYS_C_.
 */
static const DWORD ICMP_SYS_C_ERROR_ACCESS_DENIED = ERROR_ACCESS_DENIED;
static const DWORD ICMP_SYS_C_ERROR_INVALID_HANDLE = ERROR_INVALID_HANDLE;
static const DWORD ICMP_SYS_C_ERROR_NOT_ENOUGH_MEMORY = ERROR_NOT_ENOUGH_MEMORY;
static const DWORD ICMP_SYS_C_ERROR_GEN_FAILURE = ERROR_GEN_FAILURE;
static const DWORD ICMP_SYS_C_ERROR_NOT_SUPPORTED = ERROR_NOT_SUPPORTED;
static const DWORD ICMP_SYS_C_ERROR_INVALID_PARAMETER = ERROR_INVALID_PARAMETER;
static const DWORD ICMP_SYS_C_ERROR_CALL_NOT_IMPLEMENTED = ERROR_CALL_NOT_IMPLEMENTED;
static const DWORD ICMP_SYS_C_ERROR_INSUFFICIENT_BUFFER = ERROR_INSUFFICIENT_BUFFER;
static const DWORD ICMP_SYS_C_ERROR_IO_PENDING = ERROR_IO_PENDING;
static const DWORD ICMP_SYS_C_ERROR_INVALID_NETNAME = ERROR_INVALID_NETNAME;
static const DWORD ICMP_SYS_C_ERROR_SUCCESS = ERROR_SUCCESS;
static const DWORD ICMP_SYS_C_ERROR_TOO_MANY_OPEN_FILES = ERROR_TOO_MANY_OPEN_FILES;
static const DWORD ICMP_SYS_C_ERROR_NETWORK_UNREACHABLE = ERROR_NETWORK_UNREACHABLE;
static const DWORD ICMP_SYS_C_ERROR_HOST_UNREACHABLE = ERROR_HOST_UNREACHABLE;
static const DWORD ICMP_SYS_C_ERROR_PROTOCOL_UNREACHABLE = ERROR_PROTOCOL_UNREACHABLE;
static const DWORD ICMP_SYS_C_ERROR_PORT_UNREACHABLE = ERROR_PORT_UNREACHABLE;
static const ADDRESS_FAMILY ICMP_SYS_C_AF_INET6 = AF_INET6;
/* The NTSTATUS an IO_STATUS_BLOCK carries for a refused asynchronous send. */
static const NTSTATUS ICMP_SYS_C_STATUS_INVALID_PARAMETER = (NTSTATUS)STATUS_INVALID_PARAMETER;
/* The wait results and timeout of the waits around an asynchronous send. */
static const DWORD ICMP_SYS_C_WAIT_OBJECT_0 = WAIT_OBJECT_0;
static const DWORD ICMP_SYS_C_WAIT_IO_COMPLETION = WAIT_IO_COMPLETION;
static const DWORD ICMP_SYS_C_WAIT_TIMEOUT = WAIT_TIMEOUT;
static const DWORD ICMP_SYS_C_INFINITE = INFINITE;
static const DWORD ICMP_SYS_C_WAIT_FAILED = WAIT_FAILED;
static const DWORD ICMP_SYS_C_WAIT_ABANDONED = WAIT_ABANDONED;
static const DWORD ICMP_SYS_C_WAIT_ABANDONED_0 = WAIT_ABANDONED_0;
static const int ICMP_SYS_C_TRUE = TRUE;
static const int ICMP_SYS_C_FALSE = FALSE;

#endif
