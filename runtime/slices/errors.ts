/**
 * Errors of the AIBox slice manager (runtime/slices). Each carries a stable
 * code; messages are one line naming the field, the value and what was
 * expected, so `tfw slice` prints them as they are.
 *
 * Codes: ERR_TFW_SLICE_REFUSED (the plan would oversubscribe or break a rule;
 * nothing changed), ERR_TFW_SLICE_NOT_FOUND, ERR_TFW_SLICE_STATE (the state
 * file is unreadable or another process holds its lock), ERR_TFW_SYSFS (a
 * sysfs tree lacks what the inventory needs), ERR_TFW_VFIO (a device did not
 * end up on vfio-pci), ERR_TFW_SLICE_LAUNCH (QEMU or its host plumbing failed),
 * ERR_TFW_CONFIG (SliceRunMissingError: the `run` archive a start names is not there).
 */
import { TfwError } from '../errors.js';

/** The request would oversubscribe the host or break a planner rule; `field` names what is short. */
export class SliceRefusedError extends TfwError {
  readonly field: string;
  constructor(field: string, message: string) {
    super('ERR_TFW_SLICE_REFUSED', `${field}: ${message}`);
    this.field = field;
  }
}

/** No slice of that name is in the state. */
export class SliceNotFoundError extends TfwError {
  constructor(name: string, known: string[]) {
    super('ERR_TFW_SLICE_NOT_FOUND', `slice "${name}" does not exist (slices: ${known.length ? known.join(', ') : 'none'})`);
  }
}

/** The state file cannot be read or written, or is locked by a live process. */
export class SliceStateError extends TfwError {
  constructor(message: string) {
    super('ERR_TFW_SLICE_STATE', message);
  }
}

/** A sysfs tree lacks a file or holds a value the inventory cannot parse. */
export class SysfsError extends TfwError {
  constructor(message: string) {
    super('ERR_TFW_SYSFS', message);
  }
}

/** A PCI function could not be handed to vfio-pci (module missing, write refused, driver not bound after probe). */
export class VfioBindError extends TfwError {
  constructor(message: string) {
    super('ERR_TFW_VFIO', message);
  }
}

/** QEMU could not be started or stopped, or its host plumbing (bridge, tap script, disk) failed. */
export class SliceLaunchError extends TfwError {
  constructor(message: string) {
    super('ERR_TFW_SLICE_LAUNCH', message);
  }
}

/** The OCI archive a start was given (`run`) is not there; nothing was started. `field` is `run`. */
export class SliceRunMissingError extends TfwError {
  readonly field = 'run';
  constructor(path: string) {
    super('ERR_TFW_CONFIG', `run: ${path} does not exist; expected an OCI image archive (podman save / docker save format)`);
  }
}
