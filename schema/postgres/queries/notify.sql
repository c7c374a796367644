SELECT count(pg_notify($1::text, p))::bigint FROM unnest($2::text[]) AS p
