import type { Command } from 'commander';

// Placeholder until the owning issue lands: registers nothing yet.
export function registerReport(_program: Command): void {}
