/** Placeholder; replaced by the store work. */
export default async function globalTeardown(): Promise<void> {}
