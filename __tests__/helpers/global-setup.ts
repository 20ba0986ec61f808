/** Placeholder; replaced by the store work (starts a throwaway Postgres when DATABASE_URL is unset). */
export default async function globalSetup(): Promise<void> {}
