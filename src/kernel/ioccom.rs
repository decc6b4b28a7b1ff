//! sys/ioccom.h: how an ioctl request number encodes its direction, the
//! size of its argument and its group and number. The kernel copies exactly
//! that many bytes in and out, so a wrong size is a wrong request.

/// IOCPARM_MASK: the argument size takes 13 bits.
const IOCPARM_MASK: u64 = 0x1fff;
/// IOC_OUT: the kernel copies the argument back out.
const IOC_OUT: u64 = 0x4000_0000;
/// IOC_IN: the kernel copies the argument in.
const IOC_IN: u64 = 0x8000_0000;

/// `_IOC(inout, group, num, len)`.
const fn ioc(inout: u64, group: u8, num: u8, len: usize) -> u64 {
    inout | (((len as u64) & IOCPARM_MASK) << 16) | ((group as u64) << 8) | num as u64
}

/// `_IOW(group, num, type)` with `len = sizeof(type)`.
pub const fn iow(group: u8, num: u8, len: usize) -> u64 {
    ioc(IOC_IN, group, num, len)
}

/// `_IOWR(group, num, type)` with `len = sizeof(type)`.
pub const fn iowr(group: u8, num: u8, len: usize) -> u64 {
    ioc(IOC_IN | IOC_OUT, group, num, len)
}
