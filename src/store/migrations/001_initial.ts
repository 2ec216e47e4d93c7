// The initial schema: DESIGN's whole data model, so later work adds behaviour, not columns.
import { sql, type CreateTableBuilder, type Kysely } from 'kysely';

export async function up(db: Kysely<any>, dialect: 'sqlite' | 'postgres'): Promise<void> {
  const isPg = dialect === 'postgres';
  const idCol = (t: CreateTableBuilder<string, never>): CreateTableBuilder<string, 'id'> =>
    isPg ? t.addColumn('id', 'bigserial', (c) => c.primaryKey()) : t.addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement());

  await idCol(db.schema.createTable('users'))
    .addColumn('username', 'text', (c) => c.notNull().unique())
    .addColumn('email', 'text', (c) => c.notNull())
    .addColumn('first_name', 'text', (c) => c.notNull())
    .addColumn('last_name', 'text', (c) => c.notNull())
    .addColumn('password_hash', 'text', (c) => c.notNull())
    .addColumn('role', 'text', (c) => c.notNull())
    .addColumn('token_epoch', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();

  await idCol(db.schema.createTable('customer_profiles'))
    .addColumn('user_id', 'bigint', (c) => c.notNull().unique().references('users.id'))
    .addColumn('phone_number', 'bigint', (c) => c.notNull())
    .execute();

  await idCol(db.schema.createTable('rep_profiles'))
    .addColumn('user_id', 'bigint', (c) => c.notNull().unique().references('users.id'))
    .addColumn('max_capacity', 'integer', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('online'))
    .addColumn('load', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('last_assigned_at', 'bigint')
    .addColumn('watched', 'integer', (c) => c.notNull().defaultTo(0))
    .addCheckConstraint('rep_load_nonnegative', sql`load >= 0`)
    .execute();

  await db.schema
    .createTable('conversations')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('customer_id', 'bigint', (c) => c.notNull().references('customer_profiles.id'))
    .addColumn('rep_id', 'bigint', (c) => c.references('rep_profiles.id'))
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('queue_seq', 'bigint')
    .addColumn('queued_at', 'bigint')
    .addColumn('assigned_at', 'bigint')
    .addColumn('closed_at', 'bigint')
    .addColumn('closed_by', 'text')
    .addColumn('last_seq', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('version', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('rating', 'integer')
    .addColumn('rating_comment', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('conversations_customer').on('conversations').columns(['customer_id', 'created_at']).execute();
  await db.schema.createIndex('conversations_rep').on('conversations').columns(['rep_id', 'status']).execute();
  await db.schema.createIndex('conversations_status_seq').on('conversations').columns(['status', 'queue_seq']).execute();
  await db.schema.createIndex('conversations_created').on('conversations').columns(['created_at']).execute();

  await db.schema
    .createTable('conversation_holders')
    .addColumn('conversation_id', 'text', (c) => c.notNull().references('conversations.id'))
    .addColumn('rep_id', 'bigint', (c) => c.notNull().references('rep_profiles.id'))
    .addColumn('since', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('conversation_holders_pk', ['conversation_id', 'rep_id'])
    .execute();
  await db.schema.createIndex('conversation_holders_rep').on('conversation_holders').columns(['rep_id']).execute();

  await idCol(db.schema.createTable('messages'))
    .addColumn('conversation_id', 'text', (c) => c.notNull().references('conversations.id'))
    .addColumn('author_id', 'bigint', (c) => c.notNull().references('users.id'))
    .addColumn('text', 'text', (c) => c.notNull())
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('client_id', 'text')
    .addColumn('timestamp', 'bigint', (c) => c.notNull())
    .addUniqueConstraint('messages_conversation_seq', ['conversation_id', 'seq'])
    .execute();
  // A partial unique index: many messages carry no client_id.
  await sql`create unique index messages_conversation_client_id on messages (conversation_id, client_id) where client_id is not null`.execute(db);

  await idCol(db.schema.createTable('conversation_events'))
    .addColumn('conversation_id', 'text', (c) => c.notNull().references('conversations.id'))
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('rep_id', 'bigint')
    .addColumn('at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('conversation_events_conv').on('conversation_events').columns(['conversation_id', 'at']).execute();
  await db.schema.createIndex('conversation_events_kind_at').on('conversation_events').columns(['kind', 'at']).execute();

  await db.schema
    .createTable('refresh_tokens')
    .addColumn('jti', 'text', (c) => c.primaryKey())
    .addColumn('family_id', 'text', (c) => c.notNull())
    .addColumn('user_id', 'bigint', (c) => c.notNull().references('users.id'))
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('used_at', 'bigint')
    .addColumn('revoked', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema.createIndex('refresh_tokens_family').on('refresh_tokens').columns(['family_id']).execute();
  await db.schema.createIndex('refresh_tokens_user').on('refresh_tokens').columns(['user_id']).execute();

  await db.schema
    .createTable('counters')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('value', 'bigint', (c) => c.notNull())
    .execute();
  await db.insertInto('counters').values({ name: 'queue_seq', value: 0 }).execute();
}

export async function down(): Promise<void> {
  throw new Error('irreversible');
}
