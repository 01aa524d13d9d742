-- +goose Up
-- uuid_v7() with the sub-millisecond part of the clock in rand_a (RFC 9562
-- §6.2, method 3), as Go's uuid.NewV7 does: rows inserted one after another
-- within a millisecond now sort in insertion order by id too.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION uuid_v7() RETURNS uuid AS $$
    SELECT encode(
        substring(int8send(us / 1000) FROM 3)
        || int2send((x'7000'::int + (us % 1000) * 4096 / 1000)::smallint)
        || substring(uuid_send(gen_random_uuid()) FROM 9),
        'hex')::uuid
    FROM (SELECT floor(extract(epoch FROM clock_timestamp()) * 1000000)::bigint AS us) AS now
$$ LANGUAGE sql VOLATILE;
-- +goose StatementEnd

-- +goose Down
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION uuid_v7() RETURNS uuid AS $$
    SELECT encode(
        set_bit(set_bit(
            overlay(uuid_send(gen_random_uuid())
                    PLACING substring(int8send(floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3)
                    FROM 1 FOR 6),
            52, 1), 53, 1),
        'hex')::uuid
$$ LANGUAGE sql VOLATILE;
-- +goose StatementEnd
