/** An install that cannot go on: the message names the repository, file and field at fault. */
export class ModelInstallError extends Error {}
