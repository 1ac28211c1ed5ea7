// SPDX-License-Identifier: BSD-3-Clause
// Copyright(c) 2023-2024 Intel Corporation.

use core::arch::global_asm;

use crate::{tdcall::TdcallArgs, tdvmcall::TdVmcallArgs};

global_asm!(include_str!("tdcall.asm"));
global_asm!(include_str!("tdvmcall.asm"));

extern "C" {
    pub(crate) fn asm_td_call(args: *mut TdcallArgs) -> u64;
    pub(crate) fn asm_td_vmcall(args: *mut TdVmcallArgs) -> u64;
}
