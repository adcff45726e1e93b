// Typed service registry: plugins augment BunkerServices and provide/require by name.

/** Augment with `declare module "bunker/core" { interface BunkerServices { "x.y": MyService } }`. */
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface BunkerServices {}

type Key = keyof BunkerServices extends never ? string : keyof BunkerServices | string;
type ServiceOf<K> = K extends keyof BunkerServices ? BunkerServices[K] : unknown;

export interface ServiceRegistry {
  provide<K extends Key>(name: K, service: ServiceOf<K>): void;
  require<K extends Key>(name: K): ServiceOf<K>;
  get<K extends Key>(name: K): ServiceOf<K> | undefined;
  has(name: string): boolean;
}

export function createServiceRegistry(ownerOf = new Map<string, string>(), store = new Map<string, unknown>()) {
  const forPlugin = (plugin: string): ServiceRegistry => ({
    provide(name, service) {
      const owner = ownerOf.get(name);
      if (owner) throw new Error(`service "${name}" is already provided by plugin "${owner}"`);
      ownerOf.set(name, plugin);
      store.set(name, service);
    },
    require(name) {
      if (!store.has(name)) {
        throw new Error(`plugin "${plugin}" requires service "${name}", which no loaded plugin provides (add its plugin to dependsOn)`);
      }
      return store.get(name) as never;
    },
    get: (name) => store.get(name) as never,
    has: (name) => store.has(name),
  });
  return { forPlugin, list: () => [...ownerOf.entries()].map(([name, plugin]) => ({ name, plugin })) };
}
