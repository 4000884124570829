# Copyright (C) The ngx_http_staged_update_module authors
#
# The reference launcher (client/cli/, on libstagedupdate) end to end, against
# an nginx of its own with the module over HTTPS (a self-signed certificate
# made here), and the sample business server (examples/shard/shard.py):
#
# - an install directory goes from 1.0.0 to 2.0.0, byte-identical to the
#   release; --rollback restores 1.0.0 exactly; checking again takes 2.0.0
#   from the local store without a download;
# - the business-server flow: login, check with server=shard-1, the
#   question (declined, then --yes, then answered on a terminal), the new
#   login after the upgrade;
# - failures: a bad signature, a corrupted file, a truncated download (then
#   resumed with Range), SIGKILL at every step of the install, a full disk
#   at every write: each time bin/game runs, the files are the whole old or
#   the whole new version, and a later run completes the upgrade;
# - a population of 1,000 clients at 30%: the share inside the 99.99%
#   binomial interval, the same clients on a repeated run;
# - Retry-After, certificate verification, a refused login.
#
# Plain Test::More. Ports TEST_NGINX_PORT + 130 (nginx) and + 138 (shard).
#
# - the embedding example (examples/embed/game-launcher.c, on the shared
#   libstagedupdate): an upgrade with its progress bar, then the game;
#   a refused manifest, an unreachable server, a kill and a full disk:
#   the game starts each time, whole.
#
#   STAGED_UPDATE_LAUNCHER=build/launcher TEST_NGINX_PORT=2900 \
#   STAGED_UPDATE_EMBED=build/game-launcher \
#   TEST_NGINX_LOAD_MODULES=$PWD/build/ngx_http_staged_update_module.so \
#   TEST_NGINX_BINARY=/usr/sbin/nginx prove -v t/103-launcher.t

use strict;
use warnings;

use Test::More;
use File::Temp qw(tempdir);
use File::Path qw(make_path remove_tree);
use File::Spec;
use File::Basename qw(dirname);
use IO::Socket::INET;
use Time::HiRes qw(time sleep);
use Cwd qw(abs_path);
use POSIX ();

use lib dirname(__FILE__) . '/common';
use StagedUpdateE2E qw(sys wait_port write_file read_file tree);

my $top = abs_path(dirname(__FILE__) . '/..');
my $launcher = File::Spec->rel2abs($ENV{STAGED_UPDATE_LAUNCHER}
                                   || "$top/build/launcher");
my $embed = File::Spec->rel2abs($ENV{STAGED_UPDATE_EMBED}
                                || "$top/build/game-launcher");
my $modules = $ENV{TEST_NGINX_LOAD_MODULES};
my $nginx = $ENV{TEST_NGINX_BINARY} || '/usr/sbin/nginx';

plan skip_all => "no launcher at $launcher (build it: see README.md, "
                 . '"The reference launcher")'
    unless -x $launcher;
plan skip_all => 'TEST_NGINX_LOAD_MODULES is not set'
    unless defined $modules;
plan skip_all => "nginx binary \"$nginx\" is not executable"
    unless -x $nginx;
plan skip_all => 'openssl and python3 are needed'
    unless qx(openssl version 2>/dev/null) && qx(python3 -V 2>&1) =~ /Python 3/;

my @modules = map { File::Spec->rel2abs($_) } split ' ', $modules;

my $base  = ($ENV{TEST_NGINX_PORT} || 1984) + 130;
my $SHARD = $base + 8;
my $URL   = "https://127.0.0.1:$base";

my $root = tempdir('staged-update-launcher-XXXXXX', TMPDIR => 1,
                   CLEANUP => !$ENV{TEST_KEEP});
chmod 0755, $root;          # the workers (user nobody) read the releases
my $keys = "$root/keys";
my $rel  = "$root/releases";
my ($nginx_pid, $shard_pid);

END {
    local $?;
    kill 'TERM', $nginx_pid if $nginx_pid;
    if ($shard_pid) {
        kill 'TERM', $shard_pid;
        waitpid $shard_pid, 0;
    }
    sleep 0.2 if $nginx_pid;
}

$SIG{INT} = $SIG{TERM} = sub { die "killed by signal\n" };
$SIG{ALRM} = sub { die "the test took more than 240 s, giving up\n" };
alarm 240;


# ---------------------------------------------------------------------------
# keys, releases, nginx, the shard

make_path($keys, "$root/logs", "$root/tmp");

sys("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 "
    . "-nodes -days 2 -subj /CN=localhost "
    . "-addext subjectAltName=DNS:localhost,IP:127.0.0.1 "
    . "-keyout $keys/tls.key -out $keys/tls.crt 2>/dev/null");
sys("openssl genpkey -algorithm ed25519 -out $keys/manifest.pem");
sys("openssl pkey -in $keys/manifest.pem -pubout -out $keys/manifest.pub.pem");
sys("openssl genpkey -algorithm ed25519 -out $keys/other.pem");
sys("openssl pkey -in $keys/other.pem -pubout -out $keys/other.pub.pem");
sys("openssl rand -hex 32 > $keys/token.secret");

sys("$top/examples/make-release.sh $rel");

# copies of 2.0.0 that are damaged on disk once nginx has hashed them
for my $t ('bad', 'trunc') {
    make_path("$root/$t");
    sys("cp -a $rel/2.0.0 $root/$t/2.0.0");
}

die "127.0.0.1:$base is in use (TEST_NGINX_PORT moves the ports)\n"
    if IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $base);

my $load = join '', map { "load_module $_;\n" } @modules;

write_file("$root/nginx.conf", <<"CONF");
$load
master_process on;
worker_processes 2;
daemon on;
pid $root/logs/nginx.pid;
error_log $root/logs/error.log warn;

events {
    worker_connections 256;
}

http {
    log_format t '\$status "\$request"';
    access_log $root/logs/access.log t;

    client_body_temp_path $root/tmp;
    proxy_temp_path       $root/tmp;
    fastcgi_temp_path     $root/tmp;
    uwsgi_temp_path       $root/tmp;
    scgi_temp_path        $root/tmp;

    staged_update_zone upd 1m;

    staged_update_track game {
        zone    upd;
        latest  2.0.0  $rel/2.0.0;
        default 100%;
        server  shard-1  latest=1.9.0  release=$rel/1.9.0  default=100%;
        token   secret=$keys/token.secret;
        sign    $keys/manifest.pem;
        inline  64;
    }

    staged_update_track pop {
        zone    upd;
        latest  2.0.0  $rel/2.0.0;
        default 30%;
        token   secret=$keys/token.secret;
        sign    $keys/manifest.pem;
    }

    staged_update_track capped {
        zone    upd;
        latest  2.0.0  $rel/2.0.0;
        default 100%;
        rate    1/m  burst=1;
        token   secret=$keys/token.secret;
        sign    $keys/manifest.pem;
    }

    staged_update_track bad {
        zone    upd;
        latest  2.0.0  $root/bad/2.0.0  url=/bad/2.0.0/;
        default 100%;
        token   secret=$keys/token.secret;
        sign    $keys/manifest.pem;
    }

    staged_update_track trunc {
        zone    upd;
        latest  2.0.0  $root/trunc/2.0.0  url=/trunc/2.0.0/;
        default 100%;
        token   secret=$keys/token.secret;
        sign    $keys/manifest.pem;
    }

    server {
        listen 127.0.0.1:$base ssl;
        ssl_certificate     $keys/tls.crt;
        ssl_certificate_key $keys/tls.key;

        location = /update/check { staged_update game; }
        location = /pop/check    { staged_update pop; }
        location = /bad/check    { staged_update bad; }
        location = /capped/check { staged_update capped; }
        location = /trunc/check  { staged_update trunc; }

        location = /busy/check {
            add_header Retry-After 120 always;
            return 503;
        }

        location /releases/ { staged_update_verify game;  alias $rel/; }
        location /bad/      { staged_update_verify bad;   alias $root/bad/; }
        location /trunc/    { staged_update_verify trunc; alias $root/trunc/; }
    }
}
CONF

sys("$nginx -p $root/ -c $root/nginx.conf -e $root/logs/error.log");
wait_port($base, "$root/logs/error.log");
($nginx_pid) = read_file("$root/logs/nginx.pid") =~ /(\d+)/;

$shard_pid = fork // die "fork: $!\n";

if ($shard_pid == 0) {
    open STDOUT, '>', "$root/logs/shard.out" or die;
    open STDERR, '>&', \*STDOUT or die;
    exec 'python3', "$top/examples/shard/shard.py", '--port', $SHARD,
         '--id', 'shard-1', '--users', 'alice:secret'
        or POSIX::_exit(127);
}

wait_port($SHARD, "$root/logs/error.log");


# ---------------------------------------------------------------------------
# the installations: 1.0.0 as shipped, and what 1.9.0 and 2.0.0 make of it

my %V1 = (
    'bin/game'       => "#!/bin/sh\necho \"demo game 1.0.0\"\n",
    'version.txt'    => "version=1.0.0\n",
    'data/pack0.pak' => "1.0.0 pack 0\n" x 300,
    'saves/slot1'    => "a file of the user, named by no release\n",
);

my %V2 = (%V1, tree("$rel/2.0.0"));
my %V19 = (%V1, tree("$rel/1.9.0"));
my $n = 0;

sub install_v1 {
    my $dir = "$root/inst/" . $n++;

    for my $p (keys %V1) {
        make_path(dirname("$dir/$p"));
        write_file("$dir/$p", $V1{$p});
    }
    chmod 0755, "$dir/bin/game";
    make_path("$dir/.launcher");
    write_file("$dir/.launcher/version", "1.0.0\n");

    return $dir;
}

# runs the launcher on $dir; returns (wait status, output)

sub launch {
    my ($dir, $args, %o) = @_;

    my @cmd = ($launcher, '--dir', $dir);
    push @cmd, '--server', $URL, '--cacert', "$keys/tls.crt",
               '--pubkey', $o{pubkey} || "$keys/manifest.pub.pem"
        unless $o{local};
    push @cmd, @{ $args || [] };

    return run(\@cmd, $o{env}, $o{stdin});
}

sub game {
    my ($dir) = @_;
    my ($st, $out) = run(["$dir/bin/game"]);
    return $st == 0 ? $out : "exit $st: $out";
}

sub state_of {
    my ($dir) = @_;
    my %t = tree($dir);
    return 'old' if same(\%t, \%V1);
    return 'new' if same(\%t, \%V2);
    return '1.9.0' if same(\%t, \%V19);
    return 'a mix';
}

sub releases { scalar grep { m{"GET /releases/} } access_log() }
sub logins   { scalar grep { /^login user=/ } split /\n/,
                   read_file("$root/logs/shard.out") }


# ---------------------------------------------------------------------------
# an upgrade, the rollback, the stored version

{
    my $dir = install_v1();
    my $before = releases();
    my ($st, $out) = launch($dir, ['--exec', 'bin/game']);

    is($st, 0, 'upgrade 1.0.0 -> 2.0.0: exit 0') or diag($out);
    like($out, qr/upgrade 1\.0\.0 -> 2\.0\.0 offered.*installed 2\.0\.0/s,
         'upgrade: says what it does');
    like($out, qr/^demo game 2\.0\.0$/m, 'upgrade: --exec runs the new game');
    is(state_of($dir), 'new', 'upgrade: every file byte-identical to the '
                              . 'release, the user\'s file kept');
    is(read_file("$dir/.launcher/version"), "2.0.0\n", 'upgrade: version');
    ok(-x "$dir/bin/game", 'upgrade: bin/game is executable');
    is(releases() - $before, 3, 'upgrade: 3 downloads (2 files inline)');
    note($out);

    ($st, $out) = launch($dir);
    is($st, 0, 'a second check: exit 0');
    like($out, qr/2\.0\.0 is current/, 'a second check: current');

    ($st, $out) = launch($dir, ['--rollback'], local => 1);
    is($st, 0, 'rollback: exit 0') or diag($out);
    is(state_of($dir), 'old', 'rollback: the 1.0.0 files exactly, the new '
                              . 'ones removed');
    is(read_file("$dir/.launcher/version"), "1.0.0\n", 'rollback: version');
    is(game($dir), "demo game 1.0.0\n", 'rollback: bin/game is 1.0.0');

    $before = releases();
    ($st, $out) = launch($dir);
    is($st, 0, 'again from the store: exit 0') or diag($out);
    like($out, qr/2\.0\.0 is in the local store: nothing to download/,
         'again from the store: says so');
    is(releases() - $before, 0, 'again from the store: no download');
    is(state_of($dir), 'new', 'again from the store: 2.0.0 exactly');

    ($st, $out) = launch($dir, ['--rollback'], local => 1);
    ($st, $out) = launch($dir, ['--rollback'], local => 1);
    is(state_of($dir), 'new', 'rollback of the rollback: 2.0.0 again');

    ($st, $out) = launch(install_v1(), ['--rollback'], local => 1);
    is($st >> 8, 7, 'rollback without a previous version: exit 7');
}


# ---------------------------------------------------------------------------
# the business-server flow

{
    my $dir = install_v1();
    my ($l0, $r0) = (logins(), releases());
    my ($st, $out) = launch($dir, [ shard(), '--ask-from-stdin' ],
                            stdin => "n\n");

    is($st, 0, 'declined: exit 0') or diag($out);
    like($out, qr/logged\ in\ to\ shard-1\ as\ alice.*offered\ by\ shard-1
                  .*Upgrade\ to\ 1\.9\.0\ now\?\ \[y\/N\][ ]
                  .*declined:\ 1\.0\.0\ kept/sx,
         'declined: login, offer, question, declined');
    is(state_of($dir), 'old', 'declined: 1.0.0 untouched');
    is(releases() - $r0, 0, 'declined: nothing downloaded');
    is(logins() - $l0, 1, 'declined: one login');
    ok((grep { m{/update/check\?version=1\.0\.0&client=[0-9a-f]{32}
                 &server=shard-1\ }x } access_log()),
       'the check carries the version, the client key and server=shard-1');

    ($st, $out) = launch($dir, [ shard(), '--yes', '--exec', 'bin/game' ]);
    is($st, 0, '--yes: exit 0') or diag($out);
    like($out, qr/installed\ 1\.9\.0.*logged\ in\ again\ to\ shard-1
                  .*^demo\ game\ 1\.9\.0$/msx,
         '--yes: upgraded to shard-1\'s 1.9.0, logged in again, started');
    is(state_of($dir), '1.9.0', '--yes: the 1.9.0 files exactly');
    is(logins() - $l0, 3, '--yes: logged in before and after the upgrade');
    note($out);

    ($st, $out) = launch($dir, [ shard() ]);
    like($out, qr/1\.9\.0 is current/,
         'at shard-1\'s version: current, never past its server');

    ($st, $out) = launch(install_v1(), [ '--shard', "http://127.0.0.1:$SHARD",
                                         '--user', 'alice',
                                         '--password', 'wrong', '--yes' ]);
    is($st >> 8, 6, 'a refused login: exit 6');

    SKIP: {
        eval { require IO::Pty; 1 } or skip 'no IO::Pty', 2;

        $dir = install_v1();
        my $pty = IO::Pty->new;
        my $pid = fork // die;

        if ($pid == 0) {
            $pty->make_slave_controlling_terminal;
            my $tty = $pty->slave;
            close $pty;
            open STDIN, '<&', $tty or die;
            open STDOUT, '>&', $tty or die;
            open STDERR, '>&', $tty or die;
            exec $launcher, '--dir', $dir, '--server', $URL, '--cacert',
                 "$keys/tls.crt", '--pubkey', "$keys/manifest.pub.pem",
                 shard()
                or POSIX::_exit(127);
        }

        $pty->close_slave;
        my $text = '';
        my $deadline = time + 20;
        my $answered = 0;

        while (time < $deadline) {
            my $rin = '';
            vec($rin, fileno($pty), 1) = 1;
            next unless select($rin, undef, undef, 0.2);
            my $r = sysread($pty, my $chunk, 4096);
            last unless $r;
            $text .= $chunk;
            if (!$answered && $text =~ /\[y\/N\] $/) {
                syswrite($pty, "y\n");
                $answered = 1;
            }
        }

        waitpid $pid, 0;
        ok($answered, 'on a terminal: asked "Upgrade to 1.9.0 now? [y/N]"')
            or diag($text);
        is(state_of($dir), '1.9.0', 'on a terminal: "y" upgrades');
    }
}


# ---------------------------------------------------------------------------
# a manifest signed by another key, a corrupted file, a truncated download

{
    my $dir = install_v1();
    my $r0 = releases();
    my ($st, $out) = launch($dir, [], pubkey => "$keys/other.pub.pem");

    is($st >> 8, 3, 'bad signature: exit 3') or diag($out);
    like($out, qr/manifest refused: no valid signature/, 'bad signature: '
                                                          . 'says so');
    is(releases() - $r0, 0, 'bad signature: nothing downloaded');
    is(state_of($dir), 'old', 'bad signature: 1.0.0 untouched');

    ($st, $out) = launch($dir);
    is(state_of($dir), 'new', 'bad signature: the right key upgrades');
}

{
    my $f = "$root/bad/2.0.0/data/pack1.pak";
    my $good = read_file($f);
    (my $evil = $good) =~ s/pack/PACK/;
    write_file($f, $evil);

    my $dir = install_v1();
    my ($st, $out) = launch($dir, ['--check-path', '/bad/check']);

    is($st >> 8, 4, 'corrupted file: exit 4') or diag($out);
    like($out, qr{data/pack1\.pak does not match the signed size and SHA-256},
         'corrupted file: says so');
    is(state_of($dir), 'old', 'corrupted file: 1.0.0 untouched');
    is(game($dir), "demo game 1.0.0\n", 'corrupted file: bin/game runs');
    ok(!-e "$dir/.launcher/store/2.0.0/data/pack1.pak"
       && !-e "$dir/.launcher/store/2.0.0/data/pack1.pak.part",
       'corrupted file: not kept');

    write_file($f, $good);
    ($st, $out) = launch($dir, ['--check-path', '/bad/check']);
    is($st, 0, 'corrupted file repaired: exit 0') or diag($out);
    is(state_of($dir), 'new', 'corrupted file repaired: upgraded');
}

{
    my $f = "$root/trunc/2.0.0/data/pack1.pak";
    my $good = read_file($f);
    write_file($f, substr($good, 0, 1000));

    my $dir = install_v1();
    my ($st, $out) = launch($dir, ['--check-path', '/trunc/check']);

    is($st >> 8, 4, 'truncated download: exit 4') or diag($out);
    like($out, qr{pack1\.pak: 1000 of 4096 bytes}, 'truncated: says so');
    is(state_of($dir), 'old', 'truncated: 1.0.0 untouched');
    is(-s "$dir/.launcher/store/2.0.0/data/pack1.pak.part", 1000,
       'truncated: the 1000 bytes kept for a resume');

    write_file($f, $good);
    ($st, $out) = launch($dir, ['--check-path', '/trunc/check']);
    is($st, 0, 'resumed: exit 0') or diag($out);
    like($out, qr/pack1\.pak: resumed at byte 1000/, 'resumed: at byte 1000');
    ok((grep { m{^206 "GET /trunc/2\.0\.0/data/pack1\.pak\?token=} }
        access_log()), 'resumed: a 206 range answer');
    is(state_of($dir), 'new', 'resumed: upgraded, byte-identical');
}


# ---------------------------------------------------------------------------
# SIGKILL at each step, ENOSPC at each write

for my $point (qw(after-download after-backup after-stage after-journal
                  after-rename-1 after-rename-3 after-rename-5
                  before-version-write after-version-write))
{
    my $dir = install_v1();
    my ($st, $out) = launch($dir, [], env => {
        STAGED_UPDATE_LAUNCHER_CRASH_AT => $point });

    is($st & 127, 9, "killed $point: died of SIGKILL") or diag($out);
    like(game($dir), qr/^demo game (1\.0\.0|2\.0\.0)\n\z/,
         "killed $point: bin/game runs");

    ($st, $out) = launch($dir, ['--exec', 'bin/game'], local => 1);
    is($st, 0, "killed $point: a local run is fine") or diag($out);
    my $state = state_of($dir);
    ok($state eq 'old' || $state eq 'new',
       "killed $point: then the whole old or new version ($state)");
    like($out, qr/^demo game \Q@{[ $state eq 'new' ? '2.0.0' : '1.0.0' ]}\E$/m,
         "killed $point: --exec runs it");

    ($st, $out) = launch($dir);
    is($st, 0, "killed $point: a later run: exit 0") or diag($out);
    is(state_of($dir), 'new', "killed $point: a later run completes");
    ok(!-e "$dir/.launcher/journal", "killed $point: no journal left");
}

{
    my ($failed, $bad, $i) = (0, 0, 0);

    for ($i = 1; $i < 100; $i++) {
        my $dir = install_v1();
        my ($st, $out) = launch($dir, [], env => {
            STAGED_UPDATE_LAUNCHER_ENOSPC_AT => $i });

        last if $st == 0 && $out !~ /No space/;

        $failed++;
        my $g = game($dir);
        my ($st2, $out2) = launch($dir, [], local => 1);
        my $state = state_of($dir);
        my ($st3, $out3) = launch($dir);

        if ($g !~ /^demo game (1\.0\.0|2\.0\.0)\n\z/ || $st2 != 0
            || ($state ne 'old' && $state ne 'new') || $st3 != 0
            || state_of($dir) ne 'new')
        {
            diag("ENOSPC at write $i: exit " . ($st >> 8) . ", $out\n"
                 . "game: $g; local run: $st2 $out2; state $state\n"
                 . "later run: $st3 $out3");
            $bad++;
        }
    }

    cmp_ok($failed, '>=', 10, "ENOSPC: at each of the $failed writes of "
                              . 'an upgrade');
    is($bad, 0, 'ENOSPC at any write: bin/game runs, the whole old or new '
                . 'version, a later run completes');
}


# ---------------------------------------------------------------------------
# Retry-After, certificate verification

{
    my $dir = install_v1();
    my ($st, $out) = launch($dir, ['--check-path', '/busy/check']);

    is($st >> 8, 2, 'HTTP 503: exit 2, the check failed') or diag($out);
    like($out, qr/check again in 120 s/, 'Retry-After: noted');

    my $before = grep { m{/busy/check} } access_log();
    ($st, $out) = launch($dir, ['--check-path', '/busy/check']);
    is($st, 0, 'before the Retry-After time: exit 0');
    like($out, qr/next check in 1\d\d s/, 'before the Retry-After time: '
                                           . 'no check');
    is(scalar(grep { m{/busy/check} } access_log()), $before,
       'before the Retry-After time: no request');

    ($st, $out) = launch($dir, ['--force']);
    is(state_of($dir), 'new', '--force: checks anyway');

    # the module's own rate cap: one grant a minute; the next launcher is
    # deferred with a Retry-After, which it keeps

    my $first = install_v1();
    ($st, $out) = launch($first, ['--check-path', '/capped/check']);
    is(state_of($first), 'new', 'rate cap: the first launcher upgrades')
        or diag($out);

    my $second = install_v1();
    ($st, $out) = launch($second, ['--check-path', '/capped/check']);
    is($st, 0, 'rate cap: the deferred launcher exits 0') or diag($out);
    like($out, qr/the server asks to check again in (\d+) s/,
         'rate cap: its Retry-After is noted');
    is(state_of($second), 'old', 'rate cap: it goes on with 1.0.0');

    $before = grep { m{/capped/check} } access_log();
    ($st, $out) = launch($second, ['--check-path', '/capped/check']);
    like($out, qr/next check in \d+ s/,
         'rate cap: before the Retry-After time, no check');
    is(scalar(grep { m{/capped/check} } access_log()), $before,
       'rate cap: before the Retry-After time, no request');

    ($st, $out) = run([$launcher, '--dir', install_v1(), '--server', $URL,
                       '--pubkey', "$keys/manifest.pub.pem"]);
    is($st >> 8, 2, 'an untrusted certificate: exit 2');
    like($out, qr/certificate/i, 'an untrusted certificate: says so');
}


# ---------------------------------------------------------------------------
# a population: 1,000 clients at 30%

{
    my $N = 1000;
    my @dirs;

    for my $i (0 .. $N - 1) {
        my $d = "$root/pop/$i";
        make_path("$d/.launcher");
        write_file("$d/.launcher/version", "1.5.0\n");
        push @dirs, $d;
    }

    my $t0 = time;
    my @first = population(\@dirs);
    my $t1 = time;
    my @second = population(\@dirs);

    my $up = grep { $_ } @first;
    my ($lo, $hi) = binomial_interval($N, 0.3, 1e-4);

    ok($up >= $lo && $up <= $hi, "population: $up of $N upgrade at 30%, "
                                 . "99.99% interval [$lo, $hi]");
    is_deeply(\@second, \@first, 'population: the same clients on a '
                                 . 'repeated run');
    is(scalar(grep { !-f "$_/.launcher/client" } @dirs), 0,
       'population: each client made and kept its key');
    note(sprintf "population: %d checks in %.1f s", $N, $t1 - $t0);
}

# ---------------------------------------------------------------------------
# the embedding example: a game launcher of 100 lines on the library

SKIP: {
    skip "no embedding example at $embed (make embed)", 22 unless -x $embed;

    my @args = ($URL, "$keys/manifest.pub.pem", "$keys/tls.crt");
    my $dir = install_v1();
    my $before = releases();
    my ($st, $out) = run([$embed, $dir, @args]);
    my $key = read_file("$dir/.launcher/client");

    is($st, 0, 'embedded: exit 0 (the game\'s)') or diag($out);
    like($out, qr/^game 1\.0\.0, client \Q$key\E$/m,
         'embedded: the installed version and the client key');
    like($out, qr/manifest of 2\.0\.0: signature ok/,
         'embedded: the manifest verified');
    like($out, qr{\[\d/5\] data/pack0\.pak +\[#{20}\] 100%\n},
         'embedded: a progress bar per file, to 100%');
    is(scalar(() = $out =~ /\] 100%\n/g), 5, 'embedded: 5 files done');
    like($out, qr/installed 2\.0\.0.*^starting game 2\.0\.0\n(?#
                  )demo game 2\.0\.0$/ms,
         'embedded: upgraded, then the new game started');
    is(state_of($dir), 'new', 'embedded: 2.0.0 byte-identical');
    is(releases() - $before, 3, 'embedded: 3 downloads (2 files inline)');
    note($out);

    ($st, $out) = run([$embed, $dir, @args]);
    like($out, qr/2\.0\.0 is current.*^demo game 2\.0\.0$/ms,
         'embedded: current, the game starts');

    $dir = install_v1();
    ($st, $out) = run([$embed, $dir, $URL, "$keys/other.pub.pem",
                       "$keys/tls.crt"]);
    like($out, qr/^no update \(the manifest was refused\): manifest (?#
                  )refused: no valid signature/m,
         'embedded, another key: the error value and its message');
    like($out, qr/^demo game 1\.0\.0$/m, 'embedded, another key: 1.0.0 '
                                         . 'starts');
    is(state_of($dir), 'old', 'embedded, another key: 1.0.0 untouched');

    ($st, $out) = run([$embed, $dir, 'https://127.0.0.1:' . ($SHARD + 1),
                       "$keys/manifest.pub.pem", "$keys/tls.crt"]);
    like($out, qr/^no update \(the check failed\).*^demo game 1\.0\.0$/ms,
         'embedded, no server: the check failed, 1.0.0 starts');

    ($st, $out) = run([$embed, $dir, @args], {
        STAGED_UPDATE_LAUNCHER_CRASH_AT => 'after-rename-2' });
    is($st & 127, 9, 'embedded, killed after-rename-2: died of SIGKILL');
    is(state_of($dir), 'a mix', 'embedded, killed: half switched');
    ($st, $out) = run([$embed, $dir, 'https://127.0.0.1:' . ($SHARD + 1),
                       @args[1, 2]]);
    like($out, qr/completing\ the\ interrupted\ switch\ to\ 2\.0\.0
                  .*^demo\ game\ 2\.0\.0$/msx,
         'embedded, killed: the next start completes the switch, offline');
    is(state_of($dir), 'new', 'embedded, killed: 2.0.0 whole');

    $dir = install_v1();
    ($st, $out) = run([$embed, $dir, @args], {
        STAGED_UPDATE_LAUNCHER_ENOSPC_AT => 8 });
    like($out, qr/^no\ update\ \((?:the\ switch\ failed|a\ file\ did\ not
                  \ download\ or\ verify)\):\ .*No\ space\ left/mx,
         'embedded, a full disk: the upgrade failed') or diag($out);
    like($out, qr/^demo game 1\.0\.0$/m, 'embedded, a full disk: 1.0.0 '
                                         . 'starts');
    is(state_of($dir), 'old', 'embedded, a full disk: 1.0.0 whole');
    ($st, $out) = run([$embed, $dir, @args]);
    like($out, qr/^demo game 2\.0\.0$/m, 'embedded, disk freed: upgraded');
    is(state_of($dir), 'new', 'embedded, disk freed: 2.0.0 whole');
}

is(scalar(grep { /\[(?:alert|crit|emerg)\]/ }
          split /\n/, read_file("$root/logs/error.log")), 0,
   'nginx: no alert, crit or emerg');

done_testing();


# ---------------------------------------------------------------------------

sub shard {
    return ('--shard', "http://127.0.0.1:$SHARD", '--user', 'alice',
            '--password', 'secret');
}

# the launcher in --check-only mode on each dir, 8 at a time: 1 for an
# upgrade offered

sub population {
    my ($dirs) = @_;
    my $W = 8;
    my @pids;

    for my $w (0 .. $W - 1) {
        my $pid = fork // die "fork: $!\n";

        if ($pid == 0) {
            open my $fh, '>', "$root/pop-$w" or die;
            for (my $i = $w; $i < @$dirs; $i += $W) {
                my ($st, $out) = launch($dirs->[$i], ['--check-path',
                                        '/pop/check', '--check-only']);
                my $r = $st != 0 ? 'E' : $out =~ /offered/ ? 1 : 0;
                $out =~ s/\n/ | /g;
                print $fh "$i $r", ($r eq 'E' ? " $st $out" : ''), "\n";
            }
            close $fh;
            POSIX::_exit(0);          # not END: it stops nginx
        }
        push @pids, $pid;
    }

    waitpid $_, 0 for @pids;

    my @res;
    for my $w (0 .. $W - 1) {
        for (split /\n/, read_file("$root/pop-$w")) {
            my ($i, $r, $why) = split / /, $_, 3;
            die "population: client $i: the check failed: $why\n"
                if $r eq 'E';
            $res[$i] = $r;
        }
    }

    die "population: missing answers\n" unless @res == @$dirs;
    return @res;
}

# the exact two-sided interval [lo, hi] of Binomial(n, p), each tail at
# most alpha/2 (as in t/100-statistics.t)

sub binomial_interval {
    my ($n, $p, $alpha) = @_;
    my @pmf;
    my $l = $n * log(1 - $p);
    my $odds = log($p) - log(1 - $p);

    for my $k (0 .. $n) {
        $pmf[$k] = exp($l);
        $l += log(($n - $k) / ($k + 1)) + $odds if $k < $n;
    }

    my ($lo, $hi, $tail) = (0, $n, 0);
    for my $k (0 .. $n) {
        $tail += $pmf[$k];
        if ($tail > $alpha / 2) { $lo = $k; last }
    }
    $tail = 0;
    for my $k (reverse 0 .. $n) {
        $tail += $pmf[$k];
        if ($tail > $alpha / 2) { $hi = $k; last }
    }

    return ($lo, $hi);
}

# every regular file under $dir but .launcher/ and .update/: path => bytes

sub same {
    my ($a, $b) = @_;
    return 0 unless join("\0", sort keys %$a) eq join("\0", sort keys %$b);
    for (keys %$a) { return 0 unless $a->{$_} eq $b->{$_} }
    return 1;
}

sub access_log { split /\n/, read_file("$root/logs/access.log") }

sub run {
    my ($cmd, $env, $stdin) = @_;
    my $in = '/dev/null';

    if (defined $stdin) {
        $in = "$root/stdin";
        write_file($in, $stdin);
    }

    my $pid = open(my $fh, '-|') // die "fork: $!\n";

    if ($pid == 0) {
        @ENV{ keys %$env } = values %$env if $env;
        open STDIN, '<', $in or die;
        open STDERR, '>&', \*STDOUT or die;
        exec @$cmd
            or POSIX::_exit(127);
    }

    local $/;
    my $out = <$fh> // '';
    close $fh;

    return ($?, $out);
}
