# The test image of `npm run test:pg17` (scripts/test-pg17.sh): Node 24 on Debian 13 (trixie) with Debian's own
# PostgreSQL 17 server and client, zstd and age. The repository is mounted at run time (nothing of it is copied in),
# so the image only changes when this file does. No cluster is created here: the script starts one with initdb.
ARG NODE_IMAGE=node:24-trixie-slim
FROM ${NODE_IMAGE}
RUN set -eu; export DEBIAN_FRONTEND=noninteractive; \
  mkdir -p /etc/postgresql-common; echo 'create_main_cluster = false' >/etc/postgresql-common/createcluster.conf; \
  apt-get update; \
  apt-get install -y --no-install-recommends -o Dpkg::Options::=--force-confold \
    postgresql-17 postgresql-client-17 zstd age; \
  # Kept small (350 MB instead of 560): LLVM (JIT compilation, 150 MB) and Perl (Debian's pg_ctlcluster
  # wrappers, 57 MB) go; the script runs initdb, pg_ctl and the tools themselves. Without LLVM, jit = on finds no
  # provider and PostgreSQL plans without JIT, as a build without --with-llvm does.
  dpkg --purge --force-depends $(dpkg-query -W -f '${Package}\n' 'libllvm*' 'libz3-*' perl 'perl-modules-*' 'libperl5*'); \
  rm -rf /var/lib/apt/lists/* /var/cache/apt/* /var/log/apt /var/log/dpkg.log
# The 17 tools before Debian's wrappers in /usr/bin, as in infra/Dockerfile.
ENV PATH=/usr/lib/postgresql/17/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
