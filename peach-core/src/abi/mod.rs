//! Calling conventions, as data: which registers carry parameters and results, which ones a
//! function must preserve, and where stack-passed parameters are. Each ISA fills a [`CallConv`]
//! for the ABIs it supports; the ABI pass and the emitter read it.

/// A calling convention.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Abi {
    /// System V AMD64 (Linux, macOS, the BSDs on x86-64).
    SysV,
    /// Microsoft x64 (Windows on x86-64).
    Win64,
    /// The Arm 64-bit procedure call standard (Linux, Windows and the BSDs on AArch64).
    Aapcs64,
    /// Apple's arm64 variant of AAPCS64: stack-passed parameters packed by their natural size.
    AppleArm64,
}

impl Abi {
    /// The convention to build `target`'s code with: the host's for the host's architecture,
    /// else the architecture's usual one (System V, AAPCS64), for code that is shipped elsewhere
    /// or run in an emulator.
    ///
    /// ```
    /// use peach_core::{Abi, Target};
    /// let native = cfg!(target_arch = "aarch64");
    /// assert_eq!(Abi::for_target(&Target::aarch64_neon()), if native { Abi::host() } else { Abi::Aapcs64 });
    /// ```
    pub fn for_target(target: &crate::Target) -> Abi {
        use crate::target::Arch;
        let host = Arch::host();
        match target.arch() {
            arch if arch == host => Abi::host(),
            Arch::Aarch64 => Abi::Aapcs64,
            _ => Abi::SysV,
        }
    }

    /// The ABI Rust's `extern "C"` uses on the machine running this code.
    ///
    /// ```
    /// let abi = peach_core::Abi::host();
    /// # let _ = abi;
    /// ```
    pub fn host() -> Abi {
        match (cfg!(target_arch = "aarch64"), cfg!(target_vendor = "apple"), cfg!(windows)) {
            (true, true, _) => Abi::AppleArm64,
            (true, false, _) => Abi::Aapcs64,
            (false, _, true) => Abi::Win64,
            (false, _, false) => Abi::SysV,
        }
    }
}

/// The register-level description of a calling convention on one ISA.
#[derive(Clone, Debug)]
pub struct CallConv {
    /// The ABI described.
    pub abi: Abi,
    /// Registers (ISA register ids) for integer and pointer parameters, in order.
    pub int_params: &'static [u16],
    /// Registers for floating-point parameters, in order.
    pub float_params: &'static [u16],
    /// Parameter `i` uses register slot `i` of its kind's list whatever the other parameters
    /// are (Microsoft x64), instead of the next free register of its kind (System V).
    pub positional: bool,
    /// Offset from the stack pointer at entry to the first stack-passed parameter.
    pub stack_args_offset: i32,
    /// Bytes per stack-passed parameter slot.
    pub stack_slot: i32,
    /// Bytes a caller leaves free at the stack pointer for its callee to store its register
    /// parameters in (Microsoft x64's 32-byte home area; 0 elsewhere): a function that calls
    /// out keeps nothing of its own there.
    pub home_area: i32,
    /// Stack-passed parameters take their natural size and alignment instead of a whole slot
    /// (Apple arm64).
    pub stack_packed: bool,
    /// Register for integer and pointer results.
    pub int_ret: u16,
    /// Register for floating-point results.
    pub float_ret: u16,
    /// Units a function must preserve.
    pub callee_saved: crate::ir::UnitSet,
    /// Units in the order the allocator should try them: caller-saved first, so that prologues
    /// stay empty when they can.
    pub alloc_order: &'static [u8],
}

/// Where parameter `i` of a signature arrives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamLoc {
    /// In a register (ISA register id).
    Reg(u16),
    /// On the stack, at this offset from the incoming argument area.
    Stack(i32),
}

impl CallConv {
    /// Where each parameter of `params` arrives.
    pub fn param_locs<'a>(&'a self, params: &'a [crate::ir::Type]) -> impl Iterator<Item = ParamLoc> + 'a {
        let (mut ints, mut floats, mut stack) = (0usize, 0usize, 0i32);
        params.iter().enumerate().map(move |(i, ty)| {
            let (list, next) =
                if ty.is_float() { (self.float_params, &mut floats) } else { (self.int_params, &mut ints) };
            let slot = if self.positional { i } else { *next };
            *next += 1;
            match list.get(slot) {
                Some(r) => ParamLoc::Reg(*r),
                None if self.stack_packed => {
                    let size = ty.size() as i32;
                    let off = (stack as u32).next_multiple_of(size as u32) as i32;
                    stack = off + size;
                    ParamLoc::Stack(off)
                }
                None => {
                    let off = if self.positional { (i as i32 - list.len() as i32) * self.stack_slot } else { stack };
                    stack += self.stack_slot;
                    ParamLoc::Stack(off)
                }
            }
        })
    }
}

/// What the prologue and epilogues must do, decided after register allocation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Frame {
    /// Callee-saved units the code writes: the prologue saves them, every epilogue restores them.
    pub saved: crate::ir::UnitSet,
    /// Clear the upper vector state before returning (x86 `vzeroupper`).
    pub clear_upper: bool,
    /// Bytes of stack locals.
    pub locals_size: u32,
    /// Their alignment (above the ABI's 16 bytes, the frame is realigned).
    pub locals_align: u32,
    /// The code calls out: the stack pointer must be 16-byte aligned in the body.
    pub calls: bool,
}
