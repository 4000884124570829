# staged_update_explain: for every path of the demo's tables, the
# explanation says what a real check with the same input gets (decision,
# target, mandatory, rule, percentage, the client's bucket, the artifact);
# a bad input gets the check's own 400; other methods 405; never a 5xx;
# explain sets none of the check's variables.
#
# The blocks of pairs send a check and then an explanation with the same
# query: the rule and percentage of both are asserted against one table
# below, and a response body check (add_response_body_check) compares the
# explanation with the check's answer itself.

use strict;
use warnings;

use Test::Nginx::Socket 'no_plan';
use JSON::PP;

use FindBin;
use lib "$FindBin::Bin/common";
use StagedUpdateTest qw(write_releases write_file $GAME_TRACK
                        default_http_config);

our %RELEASES = (
    '2.0.0' => {
        'bin/game'                 => "#!/bin/sh\necho \"game 2.0.0\"\n",
        'version.txt'              => "version=2.0.0\n",
        '.update/full.tar.gz'      => "the full archive of 2.0.0\n" x 8,
        '.update/from-1.9.0.tar.gz' => "1.9.0 to 2.0.0\n",
    },
    '1.9.0' => {
        'bin/game'                 => "#!/bin/sh\necho \"game 1.9.0\"\n",
        'version.txt'              => "version=1.9.0\n",
    },
);

our $root = write_releases('releases-explain', \%RELEASES);

# rules in a file of their own, at known lines, for TEST 3

write_file("$root/rules.conf", <<'END');
# the rules of the track "game"

rule     1.2.*  25%;
rule     1.5.0-1.9.*  50%;
END

our @KEYS = map { "key-$_" } 1 .. 30;

# the paths of the demo's tables: query, the rule and percentage that a
# check's X-Update-Rule and X-Update-Percent give, and its status when the
# percentage leaves no draw

our %PATHS = (
    latest         => [ 'version=2.0.0',               'game:latest',    '0.00', 204 ],
    above          => [ 'version=2.1',                 'game:latest',    '0.00', 204 ],
    minimum        => [ 'version=0.9.0',               'game:minimum',   '100.00', 200 ],
    rule           => [ 'version=1.6.0',               'game:1.5.0-1.9.*', '50.00' ],
    delta          => [ 'version=1.9.0',               'game:1.5.0-1.9.*', '50.00' ],
    default        => [ 'version=1.2.0',               'game:default',   '10.00' ],
    server_latest  => [ 'version=1.9.5&server=shard-1', 'shard-1:latest', '0.00', 204 ],
    server_track   => [ 'version=2.0.0&server=shard-1', 'game:latest',   '0.00', 204 ],
    server_minimum => [ 'version=1.2.0&server=shard-1', 'shard-1:minimum', '100.00', 200 ],
    server_rule    => [ 'version=1.7.3&server=shard-1', 'shard-1:1.7.*',  '60.00' ],
    server_default => [ 'version=1.6&server=shard-1',  'shard-1:default', '20.00' ],
);

# "--- explain_pairs: <path>:<keys> ...": a check and then an explanation
# with the same query, for each client key ("none": no key, "keys": every
# one of @KEYS, or a key); the rule and percentage of both must be those
# of %PATHS, and the body check below compares the explanation with the
# check's answer

sub explain_pairs {
    my ($block) = @_;

    my (@req, @headers, @bodies, @codes);

    for my $spec (split ' ', $block->explain_pairs) {
        my ($path, $keys) = split /:/, $spec;
        my ($q, $rule, $pct, $status) = @{ $PATHS{$path} }
            or die "unknown path $path\n";

        for my $key ($keys eq 'keys' ? @KEYS : $keys) {
            my $k = $key eq 'none' ? '' : "&client=$key";

            push @req, "GET /update/check?$q$k", "GET /update/explain?$q$k";
            push @headers,
                 "X-Update-Rule: $rule\nX-Update-Percent: $pct\n",
                 "Content-Type: application/json\nCache-Control: no-store\n"
                 . "X-Decision: []\n!X-Update-Rule\n!X-Update-Percent\n";
            push @bodies, qr/\A(?:|\{"version":.*)\z/s,
                          qr/"rule":"\Q$rule\E","percent":"\Q$pct\E"/;
            push @codes, defined $status ? "^$status\$" : '^20[04]$', '^200$';
        }
    }

    $block->set_value(pairs => 'compare');
    $block->set_value(request => \@req);
    $block->set_value(response_headers => \@headers);
    $block->set_value(response_body_like => \@bodies);
    $block->set_value(error_code_like => \@codes);
}

# the explanation against the check's answer just before it

my $json = JSON::PP->new->utf8;
my (%check, %seen);

add_response_body_check(sub {
    my ($block, $body, $k, $r, $dry_run) = @_;

    my $mode = $block->pairs;
    return if $dry_run || !defined $mode;

    my $name = $block->name;

    if ($k % 2 == 0) {
        $check{$name} = $body;
        return;
    }

    my $c = delete $check{$name} // '';

    if ($mode =~ /same/) {
        is($body, $c, "$name - req $k: the same body as the check's");
        return;
    }

    my $x = eval { $json->decode($body) };
    ok($x, "$name - req $k: the explanation is JSON") or return diag($@);

    my $m = length $c ? $json->decode($c) : undef;
    my $want = !$m ? 'none' : $m->{mandatory} ? 'mandatory' : 'upgrade';

    is($x->{decision}, $want, "$name - req $k: the check's decision");
    $seen{$name}{$want}++;

    if ($x->{draw}{type} eq 'sticky') {
        is($x->{draw}{bucket} < $x->{draw}{threshold} ? 'granted' : 'not',
           $want eq 'none' ? 'not' : 'granted',
           "$name - req $k: the bucket against the threshold decides");
    }

    return unless $m;

    is($x->{target}, $m->{version}, "$name - req $k: the target");
    is($x->{mandatory} ? 1 : 0, $m->{mandatory} ? 1 : 0,
       "$name - req $k: mandatory");
    is($x->{upgrade}{url}, $m->{url}, "$name - req $k: the artifact's url");
    is_deeply($x->{upgrade}{artifact}, $m->{artifact},
              "$name - req $k: the artifact");
});

add_block_preprocessor(sub {
    my $block = shift;

    default_http_config($block, $GAME_TRACK);
    explain_pairs($block) if defined $block->explain_pairs;

    $block->set_value(config => <<'END') unless defined $block->config;
    location = /update/check {
        staged_update game;
        add_header X-Decision "[$staged_update_decision]" always;
    }

    location = /update/explain {
        staged_update_explain game;
        add_header X-Decision "[$staged_update_decision]" always;
    }
END
});

run_tests();

# the sticky paths drew both answers among the keys: the comparison above
# saw upgrades and refusals alike

for my $name (grep { /sticky/ } sort keys %seen) {
    ok($seen{$name}{upgrade} && $seen{$name}{none},
       "$name - both answers among the keys");
}

__DATA__

=== TEST 1: the whole explanation of a track rule, sticky
--- request
GET /update/explain?version=1.6&client=abc
--- response_headers
Content-Type: application/json
Cache-Control: no-store
X-Decision: []
--- response_body_like eval
qr/\A\{"track":"game","input":\{"version":"1.6","server":null,"client":"abc","manual":null\},"version":"1.6.0","scope":\{"type":"track","name":"game"\},"steps":\[\{"step":"latest","table":"game","bound":"2.0.0","compare":"1.6.0 < 2.0.0","outcome":"go on"\},\{"step":"minimum","table":"game","bound":"1.0.0","compare":"1.6.0 > 1.0.0","outcome":"go on"\},\{"step":"rule","table":"game","rules":1,"match":\{"pattern":"1.5.0-1.9.\*","percent":"50.00","file":"[^"]+\/conf\/nginx.conf","line":\d+\},"outcome":"the rule's percentage"\}\],"rule":"game:1.5.0-1.9.\*","percent":"50.00","draw":\{"type":"sticky","hashed":"game\/2.0.0\/abc","bucket":\d+,"threshold":5000,"compare":"\d+ (?:<|>=) 5000"\},"decision":"(?:upgrade|none)","target":"2.0.0","mandatory":false,"upgrade":\{"version":"2.0.0","token":false,"url":"\/releases\/2.0.0\/.update\/full.tar.gz","artifact":\{"type":"full","size":208,"sha256":"[0-9a-f]{64}"\}\}\}\n\z/
--- no_error_log
[alert]
[error]



=== TEST 2: a server's rule: four steps, the server's table, no artifact
--- request
GET /update/explain?version=1.7.3&server=shard-1
--- response_body_like eval
qr/"scope":\{"type":"server","name":"shard-1"\},"steps":\[\{"step":"latest","table":"game","bound":"2.0.0","compare":"1.7.3 < 2.0.0","outcome":"go on"\},\{"step":"server latest","table":"shard-1","bound":"1.9.0","compare":"1.7.3 < 1.9.0","outcome":"go on"\},\{"step":"minimum","table":"shard-1","bound":"1.5.0","compare":"1.7.3 > 1.5.0","outcome":"go on"\},\{"step":"rule","table":"shard-1","rules":1,"match":\{"pattern":"1.7.\*","percent":"60.00","file":"[^"]+","line":\d+\},"outcome":"the rule's percentage"\}\],"rule":"shard-1:1.7.\*","percent":"60.00","draw":\{"type":"random","threshold":6000,"compare":"a random bucket 0..9999 < 6000"\},"decision":"random","target":"1.9.0","mandatory":false,"upgrade":\{"version":"1.9.0","token":false,"url":null,"artifact":null\}\}\n\z/
--- no_error_log
[alert]
[error]



=== TEST 3: the rule's file and line, also from an included file
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        include  $TEST_NGINX_RELEASES/rules.conf;
    }
--- request eval
["GET /update/explain?version=1.9.3", "GET /update/explain?version=1.2.0"]
--- response_body_like eval
[qr/"match":\{"pattern":"1.5.0-1.9.\*","percent":"50.00","file":"\Q$main::root\E\/rules.conf","line":4\}/,
 qr/"match":\{"pattern":"1.2.\*","percent":"25.00","file":"\Q$main::root\E\/rules.conf","line":3\}/]
--- no_error_log
[alert]
[error]



=== TEST 4: the latest and above: no upgrade, one step
--- explain_pairs: latest:none above:none above:k1



=== TEST 5: below the minimum: mandatory, as the check
--- explain_pairs: minimum:none minimum:k1



=== TEST 6: a track rule, sticky: each key's bucket gives the check's answer
--- explain_pairs: rule:keys



=== TEST 7: a track rule at 1.9.0, sticky: the delta from 1.9.0, as the manifest
--- explain_pairs: delta:keys



=== TEST 8: the track's default, sticky
--- explain_pairs: default:keys



=== TEST 9: a server's latest, and the track's latest before it
--- explain_pairs: server_latest:k1 server_track:k1



=== TEST 10: a server's minimum: mandatory, to the server's latest
--- explain_pairs: server_minimum:k1 server_minimum:none



=== TEST 11: a server's rule, sticky
--- explain_pairs: server_rule:keys



=== TEST 12: a server's default, sticky
--- explain_pairs: server_default:keys



=== TEST 13: bad input: the check's own 400 and body, for each error
--- request eval
[ map { ("GET /update/check?$_", "GET /update/explain?$_") }
  'version=1.0&server=shard-9', 'version=1..2', 'server=shard-1',
  'version=1.0&version=1.0', 'version=1.0&client=a%20b',
  'version=1.0&server=%3Cx%3E', 'version=' . ('1' x 5000),
  'version=1.0&client=' . ('c' x 129), 'version=%00', 'version=1.0%0d%0aX:1' ]
--- pairs: same
--- error_code eval
[ (400) x 20 ]
--- response_headers eval
[ ("Content-Type: application/json\nCache-Control: no-store\n") x 20 ]
--- response_body_like eval
[ (qr/\A\{"error":"[^"]+"\}\n\z/) x 20 ]
--- no_error_log
[alert]
[crit]



=== TEST 14: other methods: 405 with Allow, as the check
--- request eval
[ map { ("$_ /update/check?version=1.0", "$_ /update/explain?version=1.0") }
  qw(POST PUT DELETE PATCH OPTIONS) ]
--- more_headers
Content-Length: 0
--- pairs: same
--- error_code eval
[ (405) x 10 ]
--- response_headers eval
[ ("Allow: GET, HEAD\nContent-Type: application/json\n") x 10 ]
--- no_error_log
[alert]
[crit]



=== TEST 15: HEAD: the headers only
--- request
HEAD /update/explain?version=1.6.0&client=abc
--- response_headers
Content-Type: application/json
Cache-Control: no-store
--- response_body
--- no_error_log
[alert]



=== TEST 16: a request body, hostile headers and an odd query: 4xx or 200, never 5xx
--- request eval
[ "GET /update/explain?version=1.0%26server=shard-1",
  "GET /update/explain?version=1.0&&&&=&=&server=&client=",
  "GET /update/explain?%ZZ=1&version=1.0",
  "GET /update/explain?version[]=1.0",
  "GET /update/explain?VERSION=1.0&Version=2.0" ]
--- more_headers eval
"X-Long: " . ("y" x 4000) . "\nCookie: client=x;;;\nAccept: */*\n"
--- error_code eval
[400, 200, 200, 400, 400]
--- response_body_like eval
[ qr/"error":"version is malformed: /,
  qr/"input":\{"version":"1.0","server":null,"client":null,"manual":null\}/,
  qr/"decision":"random"/,
  qr/"error":"version is missing"/,
  qr/"error":"a parameter is given more than once"/ ]
--- no_error_log
[alert]
[crit]



=== TEST 17: staged_update_input applies to the explanation as to the check
--- config
    location ~ ^/v1/(?<ver>[0-9.]+)/explain$ {
        staged_update_input version=$ver server=$http_x_shard client=$cookie_cid;
        staged_update_explain game;
    }
--- request
GET /v1/1.7.3/explain
--- more_headers
X-Shard: shard-1
Cookie: cid=abc
--- response_body_like eval
qr/"input":\{"version":"1.7.3","server":"shard-1","client":"abc","manual":null\}.*"rule":"shard-1:1.7.\*".*"hashed":"game\/1.9.0\/abc"/
--- no_error_log
[alert]
[error]



=== TEST 18: staged_update and staged_update_explain in one location: refused
--- config
    location = /update/check {
        staged_update game;
        staged_update_explain game;
    }
--- must_die
--- error_log
"staged_update_explain" directive cannot share a location with "staged_update"



=== TEST 19: staged_update_explain of an unknown track: refused
--- config
    location = /update/explain {
        staged_update_explain nosuch;
    }
--- must_die
--- error_log
staged_update_explain: unknown track "nosuch"



=== TEST 20: staged_update_explain then staged_update in one location: refused
--- config
    location = /update/explain {
        staged_update_explain game;
        staged_update game;
    }
--- must_die
--- error_log
"staged_update" directive cannot share a location with "staged_update_explain"
