/**
 * The schema compilers of every server in this process, shared. Fastify makes new ones per server, and
 * compiling the routes' validators (ajv) and serialisers (fast-json-stringify) then costs some 150 ms
 * a server; the schemas are the same objects each time (TypeBox constants), so one Ajv, which keeps what
 * it compiled by schema, and a cache of serialisers by schema make the second server and later ones cheap:
 * what a test suite that starts hundreds of servers, and a server restarted in process, spend.
 */
import { AjvCompiler } from '@fastify/ajv-compiler';
import { SerializerSelector } from '@fastify/fast-json-stringify-compiler';
import type { FastifyServerOptions } from 'fastify';

type Factories = NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>;
type SerializerFactory = NonNullable<Factories['buildSerializer']>;

// Ajv instances pooled by their options and external schemas: equal options share one.
const buildValidator = AjvCompiler();

const serializerFactory = SerializerSelector();
/** Serialisers by the options they were made with, then by schema. */
const serializers = new Map<string, WeakMap<object, ReturnType<ReturnType<SerializerFactory>>>>();

const buildSerializer: SerializerFactory = (externalSchemas, options) => {
  const compile = serializerFactory(externalSchemas, options);
  const key = JSON.stringify([externalSchemas, options]);
  let cache = serializers.get(key);
  if (cache === undefined) serializers.set(key, (cache = new WeakMap()));
  const bySchema = cache;
  return (route) => {
    if (typeof route.schema !== 'object' || route.schema === null) return compile(route);
    let serializer = bySchema.get(route.schema);
    if (serializer === undefined) bySchema.set(route.schema, (serializer = compile(route)));
    return serializer;
  };
};

export const sharedCompilers: Factories = { buildValidator, buildSerializer };
