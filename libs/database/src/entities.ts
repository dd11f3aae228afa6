/** Every entity, registered once here for the apps and the migration CLI. */
export const ENTITIES: Function[] = [];
