/* feed_auth: tokens compared in constant time, who may read and write,
 * and the dashboard's session cookies. */
#include <criterion/criterion.h>
#include <string.h>

#include "feed_auth.h"

#define T0 1700000000000LL

Test(feed_auth, equal_tokens_match)
{
    cr_assert(vigil_feed_token_equal("s3cret", "s3cret", 6));
}

Test(feed_auth, tokens_differing_in_one_byte_do_not_match)
{
    cr_assert_not(vigil_feed_token_equal("s3cret", "s3creT", 6));
    cr_assert_not(vigil_feed_token_equal("s3cret", "x3cret", 6));
}

Test(feed_auth, a_prefix_or_an_extension_of_the_token_does_not_match)
{
    cr_assert_not(vigil_feed_token_equal("s3cret", "s3cre", 5));
    cr_assert_not(vigil_feed_token_equal("s3cret", "s3cretX", 7));
    /* A repetition of the token is as long as the bytes compared. */
    cr_assert_not(vigil_feed_token_equal("ab", "abab", 4));
}

Test(feed_auth, only_the_given_length_of_the_presented_token_is_read)
{
    cr_assert(vigil_feed_token_equal("abc", "abcdef", 3));
}

Test(feed_auth, an_absent_or_empty_expected_token_never_matches)
{
    cr_assert_not(vigil_feed_token_equal(NULL, "x", 1));
    cr_assert_not(vigil_feed_token_equal("", "", 0));
    cr_assert_not(vigil_feed_token_equal("x", NULL, 0));
}

Test(feed_auth, bearer_scheme_is_case_insensitive_and_trimmed)
{
    const char *tok;
    size_t len;
    cr_assert(vigil_feed_bearer("bearer  abc \t", &tok, &len));
    cr_assert_eq(len, 3);
    cr_assert_eq(strncmp(tok, "abc", 3), 0);
    cr_assert(vigil_feed_bearer("BEARER xyz", &tok, &len));
    cr_assert_eq(len, 3);
}

Test(feed_auth, other_schemes_and_empty_credentials_are_not_bearer)
{
    const char *tok;
    size_t len;
    cr_assert_not(vigil_feed_bearer(NULL, &tok, &len));
    cr_assert_not(vigil_feed_bearer("Basic YWxhZGRpbjpvcGVu", &tok, &len));
    cr_assert_not(vigil_feed_bearer("Bearer ", &tok, &len));
    cr_assert_not(vigil_feed_bearer("Bearer    ", &tok, &len));
    cr_assert_not(vigil_feed_bearer("Bearerabc", &tok, &len));
}

Test(feed_auth, public_endpoints_need_nothing)
{
    cr_assert_eq(vigil_feed_authorize("r", "a", VIGIL_FEED_PUBLIC, NULL, false),
                 0);
}

Test(feed_auth, reads_are_open_without_a_read_token)
{
    cr_assert_eq(vigil_feed_authorize(NULL, NULL, VIGIL_FEED_READ, NULL, false),
                 0);
}

Test(feed_auth, reads_need_the_read_or_admin_token_when_one_is_set)
{
    cr_assert_eq(vigil_feed_authorize("r", "a", VIGIL_FEED_READ, NULL, false),
                 401);
    cr_assert_eq(
        vigil_feed_authorize("r", "a", VIGIL_FEED_READ, "Bearer x", false),
        401);
    cr_assert_eq(
        vigil_feed_authorize("r", "a", VIGIL_FEED_READ, "Bearer r", false), 0);
    cr_assert_eq(
        vigil_feed_authorize("r", "a", VIGIL_FEED_READ, "Bearer a", false), 0);
}

Test(feed_auth, a_valid_session_cookie_grants_reads)
{
    cr_assert_eq(vigil_feed_authorize("r", "a", VIGIL_FEED_READ, NULL, true),
                 0);
}

Test(feed_auth, writes_need_the_admin_token_never_the_read_token_or_cookie)
{
    cr_assert_eq(vigil_feed_authorize("r", "a", VIGIL_FEED_ADMIN, NULL, true),
                 401);
    cr_assert_eq(
        vigil_feed_authorize("r", "a", VIGIL_FEED_ADMIN, "Bearer r", false),
        401);
    cr_assert_eq(
        vigil_feed_authorize("r", "a", VIGIL_FEED_ADMIN, "Bearer a", false), 0);
}

Test(feed_auth, writes_are_forbidden_when_no_admin_token_is_configured)
{
    cr_assert_eq(
        vigil_feed_authorize(NULL, NULL, VIGIL_FEED_ADMIN, "Bearer a", false),
        403);
    cr_assert_eq(
        vigil_feed_authorize("r", NULL, VIGIL_FEED_ADMIN, "Bearer r", false),
        403);
}

static struct vigil_feed_sessions *sessions;

static void make_sessions(void)
{
    sessions = vigil_feed_sessions_create();
    cr_assert_not_null(sessions);
}

static void free_sessions(void)
{
    vigil_feed_sessions_destroy(sessions);
}

TestSuite(feed_session, .init = make_sessions, .fini = free_sessions);

Test(feed_session, a_new_session_id_is_64_hex_characters_and_valid)
{
    char id[VIGIL_FEED_SESSION_ID_LEN + 1];
    cr_assert_eq(vigil_feed_session_new(sessions, T0, id), 0);
    cr_assert_eq(strlen(id), 64);
    cr_assert_eq(strspn(id, "0123456789abcdef"), 64);
    cr_assert(vigil_feed_session_check(sessions, id, 64, T0 + 1000));
}

Test(feed_session, two_sessions_get_different_ids)
{
    char a[65], b[65];
    cr_assert_eq(vigil_feed_session_new(sessions, T0, a), 0);
    cr_assert_eq(vigil_feed_session_new(sessions, T0, b), 0);
    cr_assert_str_neq(a, b);
}

Test(feed_session, unknown_or_truncated_ids_are_refused)
{
    char id[65];
    cr_assert_eq(vigil_feed_session_new(sessions, T0, id), 0);
    cr_assert_not(vigil_feed_session_check(sessions, id, 63, T0));
    id[0] = id[0] == 'a' ? 'b' : 'a';
    cr_assert_not(vigil_feed_session_check(sessions, id, 64, T0));
}

Test(feed_session, an_idle_session_expires_and_use_keeps_it_alive)
{
    char id[65];
    cr_assert_eq(vigil_feed_session_new(sessions, T0, id), 0);
    int64_t t = T0;
    for (int i = 0; i < 3; i++) {
        t += VIGIL_FEED_SESSION_IDLE_MS - 1000;
        cr_assert(vigil_feed_session_check(sessions, id, 64, t));
    }
    cr_assert_not(vigil_feed_session_check(sessions, id, 64,
                                           t + VIGIL_FEED_SESSION_IDLE_MS + 1));
}

Test(feed_session, a_session_ends_after_its_lifetime_even_when_used)
{
    char id[65];
    cr_assert_eq(vigil_feed_session_new(sessions, T0, id), 0);
    int64_t t = T0;
    while (t + VIGIL_FEED_SESSION_IDLE_MS / 2 <=
           T0 + VIGIL_FEED_SESSION_LIFETIME_MS) {
        t += VIGIL_FEED_SESSION_IDLE_MS / 2;
        cr_assert(vigil_feed_session_check(sessions, id, 64, t));
    }
    cr_assert_not(vigil_feed_session_check(
        sessions, id, 64, T0 + VIGIL_FEED_SESSION_LIFETIME_MS + 1));
}

Test(feed_session, a_dropped_session_is_refused)
{
    char id[65];
    cr_assert_eq(vigil_feed_session_new(sessions, T0, id), 0);
    vigil_feed_session_drop(sessions, id, 64);
    cr_assert_not(vigil_feed_session_check(sessions, id, 64, T0));
}

Test(feed_session, the_least_recently_used_session_goes_when_the_table_is_full)
{
    char first[65], id[65];
    cr_assert_eq(vigil_feed_session_new(sessions, T0, first), 0);
    for (int i = 1; i < VIGIL_FEED_SESSION_MAX; i++)
        cr_assert_eq(vigil_feed_session_new(sessions, T0 + i, id), 0);
    /* Full: the next one evicts the oldest (first). */
    cr_assert_eq(
        vigil_feed_session_new(sessions, T0 + VIGIL_FEED_SESSION_MAX, id), 0);
    cr_assert_not(vigil_feed_session_check(sessions, first, 64,
                                           T0 + VIGIL_FEED_SESSION_MAX));
    cr_assert(vigil_feed_session_check(sessions, id, 64,
                                       T0 + VIGIL_FEED_SESSION_MAX));
}
