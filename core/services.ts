// Typed service registry: plugins augment BunkerServices and provide/require by name.

/** Augment with `declare module "bunker/core" { interface BunkerServices { "x.y": MyService } }`. */
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface BunkerServices {}

/** Only declared names: a misspelled service name is a compile error, not a runtime "no plugin provides". */
export type ServiceName = keyof BunkerServices;

export interface ServiceRegistry {
  provide<K extends ServiceName>(name: K, service: BunkerServices[K]): void;
  require<K extends ServiceName>(name: K): BunkerServices[K];
  get<K extends ServiceName>(name: K): BunkerServices[K] | undefined;
  has(name: ServiceName): boolean;
}

export interface ServiceDirectory {
  /** The registry one plugin sees: what it provides is recorded under its name. */
  forPlugin(plugin: string): ServiceRegistry;
  list(): Array<{ name: string; plugin: string }>;
}

export function createServiceRegistry(): ServiceDirectory {
  const ownerOf = new Map<string, string>();
  const store = new Map<string, unknown>();
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
