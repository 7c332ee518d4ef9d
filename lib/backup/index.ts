// A local folder backed up to a put.io folder, in the shape of lib/sync/: planner (pure), local side, executor, run.
export { BACKUP_TEMP_PREFIX, backupTempName, nameProblem, planBackup, type LocalFile, type PathProblem, type PlanStep, type RemoteItem } from "./planner";
export { localCrc, scanLocal, type LocalFilter, type LocalScan } from "./local";
export type { BackupEntry, BackupResult } from "./executor";
export { backupFolder, type BackupOptions } from "./run";
