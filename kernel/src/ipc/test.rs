//! In-kernel tests of the System V IPC tunables: the setters that /proc/sys/kernel calls
//! accept what Linux 6.1's sysctl handlers accept and leave the old value on a refusal (no
//! probe reaches them until those files exist).

use super::limits;
use crate::error::Errno;

ostd::ktest! {
    fn ipc_limits_refuse_out_of_range_values_and_keep_the_old_ones() {
        let (msgmax, msgmnb, msgmni) = (limits::msgmax(), limits::msgmnb(), limits::msgmni());
        assert_eq!(limits::set_msgmax(-1), Err(Errno::EINVAL));
        assert_eq!(limits::set_msgmnb(i64::from(i32::MAX) + 1), Err(Errno::EINVAL));
        assert_eq!(limits::set_msgmni(i64::from(limits::IPCMNI) + 1), Err(Errno::EINVAL));
        assert_eq!(limits::set_shmmni(-5), Err(Errno::EINVAL));
        assert_eq!((limits::msgmax(), limits::msgmnb(), limits::msgmni()), (msgmax, msgmnb, msgmni));
        assert_eq!(limits::shmmni(), 4096);

        assert_eq!(limits::set_msgmax(100), Ok(()));
        assert_eq!(limits::msgmax(), 100);
        assert_eq!(limits::set_msgmax(i64::from(msgmax)), Ok(()));
        assert_eq!(limits::set_msgmni(i64::from(limits::IPCMNI)), Ok(()));
        assert_eq!(limits::set_msgmni(i64::from(msgmni)), Ok(()));
        assert_eq!(limits::set_msgmnb(i64::from(msgmnb)), Ok(()));
        assert_eq!(limits::set_shmmni(4096), Ok(()));
    }

    fn ipc_sem_limits_are_set_together_or_not_at_all() {
        let before = limits::sem();
        assert_eq!(before, [32000, 1_024_000_000, 500, 32000]);
        // SEMMNI past IPCMNI refuses the whole write, the other three included.
        assert_eq!(limits::set_sem([1, 2, 3, 32769]), Err(Errno::EINVAL));
        assert_eq!(limits::sem(), before);
        // The first three take any int, negative ones too, as Linux's do.
        assert_eq!(limits::set_sem([-1, 2, 3, 4]), Ok(()));
        assert_eq!((limits::semmsl(), limits::semmns(), limits::semopm()), (-1, 2, 3));
        assert_eq!(limits::semmni(), 4);
        let restore = before.map(i64::from);
        assert_eq!(limits::set_sem(restore), Ok(()));
    }

    fn ipc_shm_size_limits_take_any_unsigned_long() {
        let (max, all) = (limits::shmmax(), limits::shmall());
        limits::set_shmmax(0);
        limits::set_shmall(u64::MAX);
        assert_eq!((limits::shmmax(), limits::shmall()), (0, u64::MAX));
        limits::set_shmmax(max);
        limits::set_shmall(all);
    }
}
