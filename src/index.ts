/**
 * kiln's public API: the config helpers used in kiln.config.ts, the step factories, and the
 * libraries (formats, signing, ABI, QEMU) usable without the CLI.
 */
export { defineConfig } from './config/types.js';
export type {
  KilnConfig,
  Project,
  RunConfig,
  TestConfig,
  ExitConfig,
  BuildTarget,
  ProfileSpec,
  RemoteCacheConfig,
} from './config/types.js';
export { option } from './config/options.js';
export type { OptionDef, OptionsSpec, OptionValues } from './config/options.js';
export { out, defineStep, StepFailure } from './step.js';
export type {
  Arch,
  ArtifactRef,
  StepHandle,
  StepKind,
  SchemaKit,
  StepContext,
  Declaration,
  FileInput,
  SigningKeyRequest,
} from './step.js';
export type {
  TargetInfo,
  DeclareContext,
  ExecOptions,
  StepAction,
  OutputPlaceholder,
  StepStatus,
  StepFailureInfo,
} from './step.js';
export type { RunResult } from './util/process.js';
export { command } from './steps/command.js';
export type { CommandOptions } from './steps/command.js';
export { copy } from './steps/copy.js';
export type { CopyOptions } from './steps/copy.js';
export { write } from './steps/write.js';
export type { WriteOptions } from './steps/write.js';
export { KilnError, FormatError } from './errors.js';
export type { ErrorLocation, KilnErrorOptions } from './errors.js';
export { parseSize, formatSize } from './util/size.js';
export type { SizeLike } from './util/size.js';
export { nasm } from './steps/nasm.js';
export type { NasmOptions } from './steps/nasm.js';
export { cc, link } from './steps/cc.js';
export type { CcOptions, LinkOptions, FlagArg } from './steps/cc.js';
export { zig } from './steps/zig.js';
export type { ZigOptions, ZigBuildOptions, ZigTestOptions } from './steps/zig.js';
export { cargo } from './steps/cargo.js';
export type { CargoOptions, CustomTarget } from './steps/cargo.js';
export type { RustRoute } from './toolchain/rust.js';
export { cmake } from './steps/cmake.js';
export type { CmakeOptions } from './steps/cmake.js';
export { objcopy } from './steps/objcopy.js';
export type { ObjcopyOptions } from './steps/objcopy.js';
export type { Layer, LayerPolicy, PolicySet } from './toolchain/policy.js';
export { cpio, tar, mbr, fat, gpt, raw, iso, grubIso, vdi, vmdk, esp, partition, text } from './steps/image.js';
export type { ImageFiles, ImageFile, PartitionSpec, MbrPartitionStep } from './steps/image.js';
export type {
  TextFile,
  FileWithMode,
  SpecialEntry,
  CpioStepOptions,
  TarStepOptions,
  FatStepOptions,
  GptStepOptions,
  MbrStepOptions,
  RawStepOptions,
  RawRegionStep,
  IsoStepOptions,
  GrubIsoStepOptions,
  ConvertStepOptions,
} from './steps/image.js';
export { blob } from './steps/blob.js';
export type { BlobOptions } from './steps/blob.js';
export { sign } from './steps/sign.js';
export type { SignStepOptions } from './steps/sign.js';
export { abi } from './steps/abi.js';
export type { AbiStepOptions } from './steps/abi.js';
export { audit } from './steps/audit.js';
export type { AuditStepOptions } from './steps/audit.js';
export { grubEfi, grubEsp } from './steps/grub.js';
export type { GrubEspOptions, GrubEspFile, GrubEfiStepOptions } from './steps/grub.js';
export { strip } from './steps/strip.js';
export type { StripStepOptions } from './steps/strip.js';
export { guest } from './qemu/script.js';
export { measure } from './qemu/serial.js';
export type { SerialMeasure, Measurement } from './qemu/serial.js';
export type { ScriptStep, ExpectStep, CaptureStep, SendStep, KeyStep, Captured } from './qemu/script.js';
export type { ConsoleName, KeyName } from './qemu/console.js';
export { kilnBootLoader, kilnBootEsp, kilnBootFiles, kilnBootAbi } from './steps/kiln-boot.js';
export type {
  KilnBootLoaderOptions,
  KilnBootEspOptions,
  KilnBootVerify,
  KilnBootSerial,
  KilnBootArch,
} from './steps/kiln-boot.js';
export { BOOT_INFO_ABI, BOOT_INFO_MAGIC, BOOT_INFO_VERSION } from './boot/boot-info.js';
