export interface Migration {
  version: number; // strictly increasing, never reused
  name: string;
  sql: string;
}
