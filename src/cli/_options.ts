/**
 * Option helpers shared by the commands: repeatable options, and the signature-section options of
 * sign, verify and audit.
 */
import type { Command } from 'commander';
import { DEFAULT_SIGN_SECTIONS, NONOS_SIGN_SECTIONS, type SignSections } from '../sign/sections.js';

/** Collects a repeatable option. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** Section-name options shared by sign, verify and audit. */
export interface SectionFlags {
  section?: string;
  mlDsaSection?: string;
  manifestSection?: string;
  nonos?: boolean;
}

export function addSectionOptions(command: Command): Command {
  return command
    .option('--section <name>', `signature section (default ${DEFAULT_SIGN_SECTIONS.signature})`)
    .option(
      '--ml-dsa-section <name>',
      `hybrid ML-DSA-65 signature section (default ${DEFAULT_SIGN_SECTIONS.mlDsaSignature})`,
    )
    .option('--manifest-section <name>', `manifest section (default ${DEFAULT_SIGN_SECTIONS.manifest})`)
    .option(
      '--nonos',
      `use the NØNOS section names (${NONOS_SIGN_SECTIONS.signature}, ${NONOS_SIGN_SECTIONS.manifest})`,
    );
}

export function sectionsFrom(flags: SectionFlags): SignSections {
  const base = flags.nonos ? NONOS_SIGN_SECTIONS : DEFAULT_SIGN_SECTIONS;
  return {
    signature: flags.section ?? base.signature,
    mlDsaSignature: flags.mlDsaSection ?? (flags.section ? `${flags.section}.mldsa` : base.mlDsaSignature),
    manifest: flags.manifestSection ?? base.manifest,
  };
}
