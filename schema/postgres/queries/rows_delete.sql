DELETE FROM cache_storage AS c USING unnest($1::text[], $2::text[]) AS d(namespace, key)
WHERE c.namespace = d.namespace AND c.key = d.key
